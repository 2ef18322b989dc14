//! Multi-thread fuzzing (below).
