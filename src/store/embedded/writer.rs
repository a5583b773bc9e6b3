//! Group commit: one writer thread takes every queued write, applies them in one transaction
//! and commits it with one fsync of the journal, so concurrent webhooks share one fsync
//! instead of queueing for one each. Each caller hears back only after the commit that holds
//! its write. A write reads what earlier writes of the same batch wrote (the transaction's own
//! state), so two writes of one key in one batch see each other.

use std::sync::mpsc;
use std::sync::Arc;

use fjall::{PersistMode, TxKeyspace, WriteTransaction};
use tokio::sync::oneshot;

use super::Parts;
use crate::store::StoreError;

/// Most writes folded into one commit; bounds the latency of the first in a burst.
const MAX_BATCH: usize = 256;

type Finish = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Op = Box<dyn FnOnce(&mut WriteTransaction<'_>, &Parts) -> Result<Finish, StoreError> + Send>;

#[derive(Clone)]
pub(super) struct Writer {
    thread: Arc<WriterThread>,
}

/// The queue into the writer thread and the thread itself. Dropping the last handle closes the
/// queue and waits for the thread to finish its last commit and let go of the store, so the
/// folder is free the moment the store is dropped (a CLI command or a restart can open it).
struct WriterThread {
    queue: Option<mpsc::Sender<Op>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(handle) = self.handle.take() {
            handle.join().ok();
        }
    }
}

impl Writer {
    pub(super) fn start(ks: TxKeyspace, parts: Arc<Parts>) -> Self {
        let (queue, ops) = mpsc::channel::<Op>();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&ks, &parts, &ops))
            .expect("spawn the store's writer thread");
        Self { thread: Arc::new(WriterThread { queue: Some(queue), handle: Some(handle) }) }
    }

    /// Runs `write` inside the next group transaction; resolves after that transaction commits.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&mut WriteTransaction<'_>, &Parts) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let op: Op = Box::new(move |txn, parts| {
            let value = write(txn, parts)?;
            Ok(Box::new(move |committed: Result<(), StoreError>| {
                tx.send(committed.map(|()| value)).ok();
            }) as Finish)
        });
        let queue = self.thread.queue.as_ref().expect("the queue is taken only on drop");
        queue.send(op).map_err(|_| StoreError::unavailable_because("the store's writer has stopped"))?;
        rx.await.map_err(|_| StoreError::unavailable_because("the store's writer dropped a write"))?
    }
}

fn run(ks: &TxKeyspace, parts: &Parts, ops: &mpsc::Receiver<Op>) {
    // How well writes share commits: what the benchmark reads (bench/run.sh) and an operator
    // can compare with the disk's fsync rate.
    let (mut commits, mut writes) = (0u64, 0u64);
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        commits += 1;
        writes += batch.len() as u64;
        commit(ks, parts, batch);
    }
    if commits > 0 {
        let per_commit = writes as f64 / commits as f64;
        tracing::info!(commits, writes, per_commit = format_args!("{per_commit:.1}"), "store closed: writes shared commits");
    }
}

/// Applies a batch. If any write fails, none of the batch is committed and every caller is told.
fn commit(ks: &TxKeyspace, parts: &Parts, batch: Vec<Op>) {
    // Durable: the commit returns once the journal holds the batch on disk.
    let mut txn = ks.write_tx().durability(Some(PersistMode::SyncData));
    let mut finishers = Vec::with_capacity(batch.len());
    let mut failed = None;
    for op in batch {
        if failed.is_some() {
            // Dropping the op drops its caller's sender: it is told `Unavailable`.
            continue;
        }
        match op(&mut txn, parts) {
            Ok(finish) => finishers.push(finish),
            Err(e) => failed = Some(e),
        }
    }
    // Shared: every caller of the batch gets it as the source of its own error.
    let result = match failed {
        Some(e) => {
            txn.rollback();
            Err(Arc::new(e))
        }
        None => txn.commit().map_err(|e| Arc::new(StoreError::unavailable(e))),
    };
    for finish in finishers {
        finish(match &result {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::Unavailable { context: format!("group commit failed: {e}"), source: Some(Box::new(e.clone())) }),
        });
    }
}
