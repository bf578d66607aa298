//! Patches on the client: applying merge, strategic merge and JSON patches locally
//! (`--dry-run=client`, `--local`), and computing client-side apply's three-way patch.

pub mod local;
pub mod three_way;
