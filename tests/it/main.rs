//! Integration tests: one binary, modules by area. Storage tests run against the real
//! PostgreSQL through `#[sqlx::test]` (a fresh database per test).

mod alerts;
mod apply;
mod calendar;
mod cli;
mod common;
mod confirm;
mod discord;
mod discord_gateway;
mod doctor;
mod embedded;
mod evidence;
mod figures;
mod fuzz_corpus;
mod housekeeping;
mod inbound;
mod isolation;
mod layers;
mod org;
mod outbox;
mod pictures;
mod reviews;
mod route;
mod schedule;
mod serve;
mod shell;
mod slack;
mod slack_pictures;
mod slack_reviews;
mod store;
mod timing;
