//! The pure core: model types, rollup math, cadence rules and parsers. No I/O, no async,
//! no wall clock: the current time is always a parameter.

pub mod alerts;
pub mod cadence;
pub mod calendar;
pub mod due;
pub mod evidence;
pub mod fiscal;
pub mod forecast;
pub mod hours;
pub mod model;
pub mod org;
pub mod parse;
pub mod plausible;
pub mod progress;
pub mod review;

pub use model::*;
pub use org::*;
