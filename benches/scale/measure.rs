//! What the benchmarks measure with: the shared counting global allocator (bytes allocated,
//! live and peak heap), the process's CPU time, medians, and the targets printed with PASS/FAIL
//! at the end.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

// ---- Counting allocator ----------------------------------------------------------------------

use crate::counting_alloc::{ALLOCATED_BYTES as ALLOCATED, Counting, LIVE, PEAK};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated (growths included) and the peak heap above the start, over a stretch of the
/// run; other threads' allocations count too.
pub struct HeapWatch {
    allocated_before: usize,
    live_before: usize,
}

impl HeapWatch {
    /// Starts watching: the peak is reset to what is live now.
    pub fn start() -> Self {
        let live_before = LIVE.load(Relaxed);
        PEAK.store(live_before, Relaxed);
        HeapWatch {
            allocated_before: ALLOCATED.load(Relaxed),
            live_before,
        }
    }

    /// Bytes allocated since the start.
    pub fn allocated(&self) -> usize {
        ALLOCATED.load(Relaxed) - self.allocated_before
    }

    /// The heap live now, above what was live at the start.
    pub fn live(&self) -> usize {
        LIVE.load(Relaxed).saturating_sub(self.live_before)
    }

    /// The most heap live at once since the start, above what was live then.
    pub fn peak(&self) -> usize {
        PEAK.load(Relaxed).saturating_sub(self.live_before)
    }
}

// ---- CPU time --------------------------------------------------------------------------------

/// User plus system CPU time of the whole process (every thread) so far.
pub fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time of the calling thread so far: unlike the wall clock, it leaves out the time other
/// processes of a shared machine hold the core.
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct it is given.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) },
        0
    );
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Raises this process's open-files limit to at least `needed` (within the hard limit);
/// returns the limit in force.
pub fn raise_open_files_limit(needed: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read or write only the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

// ---- Statistics ------------------------------------------------------------------------------

/// The best and the median of a case's times.
#[derive(Clone, Copy)]
pub struct Timing {
    pub best: Duration,
    pub median: Duration,
}

/// Runs each case `rounds` times in turns (so that a slow spell of the machine hits them
/// alike), after one warm-up each. A case times the region it is about and returns that time,
/// so that its preparation is not counted.
pub fn in_turns(cases: &mut [&mut dyn FnMut() -> Duration], rounds: usize) -> Vec<Timing> {
    cases.iter_mut().for_each(|case| _ = case());
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (case, times) in cases.iter_mut().zip(&mut times) {
            times.push(case());
        }
    }
    times
        .into_iter()
        .map(|times| Timing {
            best: *times.iter().min().unwrap(),
            median: median(times),
        })
        .collect()
}

/// The median of some durations.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// Microseconds, for printing.
pub fn micros(time: Duration) -> f64 {
    time.as_secs_f64() * 1e6
}

/// Mebibytes, for printing.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

// ---- Targets ---------------------------------------------------------------------------------

/// The targets, printed at the end with PASS/FAIL.
#[derive(Default)]
pub struct Targets(Vec<(String, String, bool)>);

impl Targets {
    /// `what` must be at most `bound`.
    pub fn at_most(&mut self, what: &str, value: f64, bound: f64) {
        self.0.push((
            format!("{what} <= {bound}"),
            format!("{value:.3}"),
            value <= bound,
        ));
    }

    /// `what` must be exactly `expected`.
    pub fn exactly(&mut self, what: &str, value: usize, expected: usize) {
        self.0.push((
            format!("{what} == {expected}"),
            value.to_string(),
            value == expected,
        ));
    }

    /// Prints every target and how many failed.
    pub fn report(&self) {
        println!("\ntargets (from this run):");
        for (what, value, pass) in &self.0 {
            let verdict = if *pass { "PASS" } else { "FAIL" };
            println!("  {verdict}  {what}: {value}");
        }
        let failed = self.0.iter().filter(|(_, _, pass)| !pass).count();
        println!("\n{failed} of {} targets failed", self.0.len());
    }
}
