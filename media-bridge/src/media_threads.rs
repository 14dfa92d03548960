//! The threads that run media sockets: each its own single-threaded runtime, every socket of a
//! call (Twilio's and the agent's) registered with the one thread that runs the call.
//!
//! A call's frames arrive every 20 ms on two sockets. On the process's multi-threaded runtime
//! each arrival could wake a parked worker to steal the task (a futex wake and a context switch
//! per frame, which cost more than the frame itself); on one thread that waits on its own
//! `epoll` the frames of all its calls are read in batches as they come. Measured at 200 calls
//! (`callbot load`): about a fifth less CPU per call, and half the context switches.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, watch};

/// A call on its way to a thread, counted on it until it ends (or is dropped unstarted).
///
/// A struct beside the call rather than an `async` block around it: a block that awaits a
/// captured future keeps it twice in its state (15.6 KiB a call instead of 7.8).
struct Job {
    call: Pin<Box<dyn Future<Output = ()> + Send>>,
    _running: Running,
}

impl Future for Job {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.call.as_mut().poll(cx)
    }
}

/// Media threads, each taking the next call while it runs the fewest.
pub struct MediaThreads {
    threads: Vec<MediaThread>,
}

struct MediaThread {
    jobs: mpsc::UnboundedSender<Job>,
    /// Calls running on this thread.
    running: watch::Sender<usize>,
}

impl MediaThreads {
    /// The default count: half the cores, at least one (the rest serve the API, the workers
    /// and the kernel's side of the sockets).
    pub fn default_count() -> usize {
        std::thread::available_parallelism()
            .map(|cores| cores.get().div_ceil(2))
            .unwrap_or(1)
    }

    /// Starts `count` threads (at least one). They end when this is dropped, with the tasks
    /// they still run.
    pub fn start(count: usize) -> std::io::Result<Self> {
        let threads = (0..count.max(1))
            .map(|index| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
                std::thread::Builder::new()
                    .name(format!("media-{index}"))
                    .spawn(move || {
                        runtime.block_on(async move {
                            while let Some(job) = queue.recv().await {
                                tokio::spawn(job);
                            }
                        });
                    })?;
                Ok(MediaThread {
                    jobs,
                    running: watch::Sender::new(0),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self { threads })
    }

    /// Runs `call` on the thread with the fewest calls. Whatever sockets it opens or takes over
    /// (`TcpStream::from_std`) are driven by that thread.
    pub fn spawn(&self, call: impl Future<Output = ()> + Send + 'static) {
        let thread = self
            .threads
            .iter()
            .min_by_key(|thread| *thread.running.borrow())
            .expect("at least one media thread");
        let job = Job {
            call: Box::pin(call),
            _running: Running::enter(thread.running.clone()),
        };
        if thread.jobs.send(job).is_err() {
            // Only after a panic on that thread's loop, which spawns and never polls a call.
            tracing::error!("a media thread is gone; the call is dropped");
        }
    }

    /// How many calls each thread runs now.
    pub fn running(&self) -> Vec<usize> {
        self.threads
            .iter()
            .map(|thread| *thread.running.borrow())
            .collect()
    }

    /// Follows how many calls thread `index` runs.
    pub fn watch_running(&self, index: usize) -> Option<watch::Receiver<usize>> {
        self.threads
            .get(index)
            .map(|thread| thread.running.subscribe())
    }
}

/// One running call on a thread's count, until it ends (or is dropped unstarted).
struct Running(watch::Sender<usize>);

impl Running {
    fn enter(count: watch::Sender<usize>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{oneshot, watch};

    #[tokio::test]
    async fn calls_run_on_the_least_busy_media_thread_and_leave_its_count_when_done() {
        let threads = MediaThreads::start(2).unwrap();
        let (release, released) = watch::channel(false);
        let mut names = Vec::new();
        for _ in 0..3 {
            let (name, named) = oneshot::channel();
            let mut released = released.clone();
            threads.spawn(async move {
                let _ = name.send(std::thread::current().name().map(str::to_owned));
                let _ = released.wait_for(|done| *done).await;
            });
            names.push(named.await.unwrap().unwrap());
        }
        assert_eq!(names, ["media-0", "media-1", "media-0"]);
        assert_eq!(threads.running(), [2, 1]);

        release.send(true).unwrap();
        for index in 0..2 {
            let mut running = threads.watch_running(index).unwrap();
            running.wait_for(|calls| *calls == 0).await.unwrap();
        }
        assert_eq!(threads.running(), [0, 0]);
    }

    #[test]
    fn there_is_always_a_thread() {
        assert_eq!(MediaThreads::start(0).unwrap().running(), [0]);
        assert!(MediaThreads::default_count() >= 1);
    }
}
