//! Calendar events, the ICS writer and rhythm suggestions (pure).
