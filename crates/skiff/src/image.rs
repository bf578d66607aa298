//! `skiff image …`: import, pull (with progress; `--no-unpack` only fetches the blobs), list and
//! remove images in the node's store.

use crate::cli::{ImageArgs, ImageCommand};
use crate::node;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Runs one image command.
pub async fn run(args: ImageArgs) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(&args.data_dir)?;
    let store = node::open_images(&data_dir, &args.private_registry)?;
    match args.command {
        ImageCommand::Import { files } => {
            for file in files {
                for image in store.import_archive(&file).await? {
                    println!("imported {} ({})", image.repo_tags.join(", "), image.id);
                }
            }
        }
        ImageCommand::Pull {
            reference,
            no_unpack: false,
        } => {
            let progress = progress_printer();
            let image = store.pull(&reference, None, Some(progress)).await?;
            println!(
                "\npulled {} ({}, {} bytes)",
                reference, image.id, image.size
            );
        }
        ImageCommand::Pull {
            reference,
            no_unpack: true,
        } => {
            let progress = progress_printer();
            let image = store.fetch(&reference, None, Some(progress)).await?;
            println!(
                "\nfetched {} ({}, {} bytes; not unpacked)",
                reference, image.id, image.size
            );
        }
        ImageCommand::List => {
            println!("{:<60} {:<20} {:>12}", "IMAGE", "IMAGE ID", "SIZE");
            for image in store.list() {
                let id = image.id.trim_start_matches("sha256:");
                let short = &id[..id.len().min(13)];
                for tag in image.repo_tags.iter() {
                    println!("{:<60} {:<20} {:>12}", tag, short, human_size(image.size));
                }
            }
        }
        ImageCommand::Remove { reference } => {
            store.remove(&reference).await?;
            println!("removed {reference}");
        }
    }
    Ok(())
}

/// One status line per layer, redrawn in place when stdout is a terminal.
fn progress_printer() -> skiff_images::ProgressFn {
    let last = Arc::new(Mutex::new(String::new()));
    Arc::new(move |p: skiff_images::PullProgress| {
        let short = p.layer.trim_start_matches("sha256:");
        let short = &short[..short.len().min(12)];
        let line = if p.done {
            format!("{short}: done ({})", human_size(p.total))
        } else {
            format!(
                "{short}: {} / {}",
                human_size(p.downloaded),
                human_size(p.total)
            )
        };
        if let Ok(mut last) = last.lock() {
            if *last != line {
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "\r\x1b[K{line}");
                if p.done {
                    let _ = writeln!(out);
                }
                let _ = out.flush();
                *last = line;
            }
        }
    })
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
