//! Minimized cases (filled in below).
