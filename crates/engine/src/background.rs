//! Background work: the shutdown signal every runner watches, the tasks it waits for at shutdown,
//! and the places tests can reach into a run — fail-points (abort the process, as kill -9 would)
//! and breakpoints (hold a runner until the test lets it go). Both exist only with the
//! `failpoints` feature; without it they compile to nothing.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

#[derive(Default)]
pub struct Background {
    stopping: AtomicBool,
    wake: Notify,
    tasks: TaskTracker,
    #[cfg(feature = "failpoints")]
    pub breakpoints: std::sync::Arc<testing::Breakpoints>,
}

/// This instance's breakpoints, for work that blocks instead of awaiting (a transaction's
/// closure, which holds its transaction open while held).
#[derive(Clone, Default)]
pub struct Holds(#[cfg(feature = "failpoints")] std::sync::Arc<testing::Breakpoints>);

impl Holds {
    /// Blocks this thread at breakpoint `name` while a test holds it there.
    pub fn hold(&self, name: &str) {
        #[cfg(feature = "failpoints")]
        self.0.hit_blocking(name);
        #[cfg(not(feature = "failpoints"))]
        let _ = name;
    }
}

impl Background {
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Asks every runner to stop at its next chunk and wakes the ones that wait.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Resolves once `stop` was called.
    pub async fn stopped(&self) {
        loop {
            let woken = self.wake.notified();
            if self.is_stopping() {
                return;
            }
            woken.await;
        }
    }

    /// Sleeps `d`; false if stopping cut it short.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.is_stopping(),
            _ = self.stopped() => false,
        }
    }

    /// Runs `f` as a task that shutdown waits for.
    pub fn spawn<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(f);
    }

    /// Waits (up to `limit`) for the spawned tasks to finish after `stop`.
    pub async fn drain(&self, limit: Duration) {
        self.tasks.close();
        let _ = tokio::time::timeout(limit, self.tasks.wait()).await;
    }

    /// The breakpoints, for blocking work to carry.
    pub fn holds(&self) -> Holds {
        #[cfg(feature = "failpoints")]
        return Holds(self.breakpoints.clone());
        #[cfg(not(feature = "failpoints"))]
        Holds()
    }

    /// A named place where a test may hold this runner until it lets it go.
    pub async fn breakpoint(&self, name: &str) {
        #[cfg(feature = "failpoints")]
        self.breakpoints.hit(name).await;
        #[cfg(not(feature = "failpoints"))]
        let _ = name;
    }
}

/// A named place where a test may abort the process (`SLUICE_FAILPOINTS=name:n,…`).
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    testing::failpoint(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// A named place where a test may make this thread panic (`SLUICE_FAILPOINTS=panic@name:n,…`): a
/// panic must cost one request, never the process.
pub fn panic_point(name: &str) {
    #[cfg(feature = "failpoints")]
    testing::panic_point(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(feature = "failpoints")]
pub mod testing {
    //! Fail-points and breakpoints, for tests.

    use std::collections::HashMap;
    use std::future::Future;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};
    use std::task::{Context, Poll, Wake, Waker};
    use tokio::sync::watch;

    /// Runs `f` to its end on this thread (a breakpoint's wait, on a thread outside the runtime).
    fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    fn armed() -> &'static Option<Mutex<HashMap<String, AtomicU64>>> {
        static POINTS: OnceLock<Option<Mutex<HashMap<String, AtomicU64>>>> = OnceLock::new();
        POINTS.get_or_init(|| {
            let spec = std::env::var("SLUICE_FAILPOINTS").ok()?;
            let map = spec
                .split(',')
                .filter_map(|p| {
                    let (name, n) = p.split_once(':')?;
                    Some((
                        name.trim().to_owned(),
                        AtomicU64::new(n.trim().parse().ok()?),
                    ))
                })
                .collect();
            Some(Mutex::new(map))
        })
    }

    /// Aborts the process (no unwinding, no cleanup, like SIGKILL) on the armed pass through `name`.
    pub fn failpoint(name: &str) {
        let Some(points) = armed() else { return };
        let points = points.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(left) = points.get(name) {
            if left.fetch_sub(1, Ordering::SeqCst) == 1 {
                eprintln!("failpoint {name}: aborting");
                std::process::abort();
            }
        }
    }

    /// Panics on the armed pass through `panic@name`.
    pub fn panic_point(name: &str) {
        let Some(points) = armed() else { return };
        let due = {
            let points = points.lock().unwrap_or_else(|p| p.into_inner());
            points
                .get(&format!("panic@{name}"))
                .is_some_and(|left| left.fetch_sub(1, Ordering::SeqCst) == 1)
        };
        if due {
            panic!("panic point {name}");
        }
    }

    /// A breakpoint a test armed: runners that reach it wait until it is released.
    pub struct Pause {
        hits: watch::Sender<u64>,
        open: watch::Sender<bool>,
    }

    impl Pause {
        /// Waits until a runner has reached the breakpoint (and is held there).
        pub async fn reached(&self) {
            let _ = self.hits.subscribe().wait_for(|n| *n > 0).await;
        }

        /// Lets every held runner go, and any later one pass.
        pub fn release(&self) {
            let _ = self.open.send(true);
        }
    }

    #[derive(Default)]
    pub struct Breakpoints(Mutex<HashMap<String, Arc<Pause>>>);

    impl Breakpoints {
        /// Arms the breakpoint `name`: the next runners to reach it wait for `release`.
        pub fn arm(&self, name: &str) -> Arc<Pause> {
            let pause = Arc::new(Pause {
                hits: watch::Sender::new(0),
                open: watch::Sender::new(false),
            });
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_owned(), pause.clone());
            pause
        }

        /// `hit`, blocking this thread.
        pub fn hit_blocking(&self, name: &str) {
            block_on(self.hit(name));
        }

        pub async fn hit(&self, name: &str) {
            let pause = self
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned();
            if let Some(p) = pause {
                let mut open = p.open.subscribe();
                p.hits.send_modify(|n| *n += 1);
                let _ = open.wait_for(|o| *o).await;
            }
        }
    }
}
