//! What a process costs, read from /proc: resident memory and CPU time.

use anyhow::Context;

/// Resident set size in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc/pid/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

/// User + system CPU time in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).context("read /proc/pid/stat")?;
    // Fields after the command name (which may contain spaces) start at ")".
    let after = &stat[stat.rfind(')').context("stat format")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields[11].parse()?;
    let stime: f64 = fields[12].parse()?;
    Ok((utime + stime) / clock_ticks())
}

/// This process's own CPU time (the load generator's side of the bill).
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

fn clock_ticks() -> f64 {
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    100.0
}

/// The server processes under test (one, or every node of a cluster),
/// read together: the cost of a run is what all of them spent.
#[derive(Debug, Clone, Default)]
pub struct Servers {
    pub pids: Vec<u32>,
}

impl Servers {
    pub fn new(pids: Vec<u32>) -> Self {
        Self { pids }
    }

    /// Total CPU seconds so far; `None` without pids (nothing to read).
    pub fn cpu_seconds(&self) -> Option<f64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids.iter().map(|&p| cpu_seconds(p).ok()).sum()
    }

    /// Total resident memory; `None` without pids.
    pub fn rss_bytes(&self) -> Option<u64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids.iter().map(|&p| rss_bytes(p).ok()).sum()
    }
}

/// CPU spent between two readings, in microseconds per operation.
pub fn us_per_op(cpu_seconds: Option<f64>, ops: u64) -> Option<f64> {
    cpu_seconds
        .filter(|_| ops > 0)
        .map(|s| s * 1e6 / ops as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        let me = Servers::new(vec![std::process::id()]);
        assert!(me.rss_bytes().unwrap() > 0);
        assert!(me.cpu_seconds().unwrap() >= 0.0);
        assert_eq!(Servers::default().cpu_seconds(), None);
        // A process that does not exist makes the whole reading unknown.
        assert_eq!(
            Servers::new(vec![std::process::id(), u32::MAX]).cpu_seconds(),
            None
        );
    }

    #[test]
    fn cost_per_operation() {
        assert_eq!(us_per_op(Some(0.5), 1000), Some(500.0));
        assert_eq!(us_per_op(Some(0.5), 0), None);
        assert_eq!(us_per_op(None, 10), None);
    }
}
