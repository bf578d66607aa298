//! Facts about this machine: CPU count, memory, disk, kernel, OS image and
//! machine ids, read from /proc, /etc and statvfs.

use std::path::Path;

/// What the node reports about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MachineInfo {
    /// Logical CPUs.
    pub cpus: u64,
    /// MemTotal in bytes.
    pub memory: u64,
    /// MemAvailable in bytes.
    pub memory_available: u64,
    /// Size of the filesystem holding the root dir, bytes.
    pub disk: u64,
    /// Free space there, bytes.
    pub disk_available: u64,
    /// `uname -r`.
    pub kernel: String,
    /// PRETTY_NAME of /etc/os-release.
    pub os_image: String,
    /// /etc/machine-id.
    pub machine_id: String,
    /// DMI product uuid, or the machine id.
    pub system_uuid: String,
    /// /proc/sys/kernel/random/boot_id.
    pub boot_id: String,
    /// Max PIDs and PIDs in use.
    pub pid_max: u64,
    /// Running processes.
    pub pids: u64,
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Parse a `/proc/meminfo` field in bytes.
pub fn meminfo_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// PRETTY_NAME of an os-release file.
pub fn pretty_name(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// Gather the facts; `root` is the directory whose filesystem is reported.
pub fn gather(root: &Path) -> MachineInfo {
    let meminfo = read("/proc/meminfo");
    let (disk, disk_available) = match nix::sys::statvfs::statvfs(root) {
        Ok(s) => (
            s.blocks() * s.fragment_size(),
            s.blocks_available() * s.fragment_size(),
        ),
        Err(_) => (0, 0),
    };
    let machine_id = read("/etc/machine-id");
    let product = read("/sys/class/dmi/id/product_uuid");
    let pids = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count() as u64
        })
        .unwrap_or(0);
    MachineInfo {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get() as u64)
            .unwrap_or(1),
        memory: meminfo_field(&meminfo, "MemTotal").unwrap_or(0),
        memory_available: meminfo_field(&meminfo, "MemAvailable").unwrap_or(0),
        disk,
        disk_available,
        kernel: read("/proc/sys/kernel/osrelease"),
        os_image: pretty_name(&read("/etc/os-release")),
        system_uuid: if product.is_empty() {
            machine_id.clone()
        } else {
            product
        },
        machine_id,
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        pid_max: read("/proc/sys/kernel/pid_max").parse().unwrap_or(32768),
        pids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo_and_os_release() {
        let m = "MemTotal:       16384 kB\nMemFree:  1 kB\nMemAvailable:   8192 kB\n";
        assert_eq!(meminfo_field(m, "MemTotal"), Some(16384 * 1024));
        assert_eq!(meminfo_field(m, "MemAvailable"), Some(8192 * 1024));
        assert_eq!(meminfo_field(m, "Mem"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(pretty_name(os), "Debian GNU/Linux 12 (bookworm)");
    }
}
