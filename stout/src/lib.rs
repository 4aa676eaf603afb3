//! stout: flag loading, durations, bytes, as upstream stout does them.
