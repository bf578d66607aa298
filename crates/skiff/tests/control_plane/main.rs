//! Control-plane e2e: a real API server (SQLite store), the scheduler and the controllers
//! in-process, simulated nodes (KWOK-style) and the real kubectl.

mod deletion;
mod drain;
mod placement;
mod rollout;
mod sim;
