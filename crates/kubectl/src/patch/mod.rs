//! Patches on the client: applying merge, strategic merge and JSON patches locally
//! (`--dry-run=client`, `--local`).

pub mod local;
