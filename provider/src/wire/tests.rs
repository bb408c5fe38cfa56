//! Round-trip tests for the wire layer.
