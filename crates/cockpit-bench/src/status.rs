//! What /proc says of this process, for the benchmarks' memory figures.

/// A line of /proc/self/status (`VmRSS:`, `VmHWM:`), in KiB; 0 where there is none.
pub(crate) fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
