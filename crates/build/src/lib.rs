//! Image builds with buildah or the Docker engine, reproducible by default.
