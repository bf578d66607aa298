//! skiff-images (see ARCHITECTURE.md).
