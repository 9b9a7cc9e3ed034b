//! An in-memory [`SocketDescriptor`] for tests, benchmarks and fuzzing: what
//! the manager sends is collected in a buffer the caller drains and feeds to
//! the other side's `read_event`.

use super::SocketDescriptor;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One end of an in-memory connection. Clones share the same buffers.
#[derive(Clone, Debug)]
pub struct PipeDescriptor {
    id: u64,
    outbox: Arc<Mutex<Vec<u8>>>,
    /// Most bytes the "socket" holds unread; `send_data` accepts only up to it.
    capacity: Arc<AtomicUsize>,
    disconnected: Arc<AtomicBool>,
    resume_requests: Arc<AtomicUsize>,
}

impl PipeDescriptor {
    /// A new end with its own id and an unbounded buffer.
    pub fn new(id: u64) -> Self {
        PipeDescriptor {
            id,
            outbox: Arc::new(Mutex::new(Vec::new())),
            capacity: Arc::new(AtomicUsize::new(usize::MAX)),
            disconnected: Arc::new(AtomicBool::new(false)),
            resume_requests: Arc::new(AtomicUsize::new(0)),
        }
    }
    /// Limits how many unread bytes the buffer takes (a peer that stops reading).
    pub fn set_capacity(&self, bytes: usize) {
        self.capacity.store(bytes, Ordering::SeqCst);
    }
    /// Takes everything sent so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }
    /// Moves everything sent so far into `out` (reusing its allocation).
    pub fn take_into(&self, out: &mut Vec<u8>) {
        let mut b = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        out.clear();
        std::mem::swap(&mut *b, out);
    }
    /// Bytes sent and not yet taken.
    pub fn pending(&self) -> usize {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    /// Whether the manager asked to close this connection.
    pub fn is_disconnected(&self) -> bool {
        self.disconnected.load(Ordering::SeqCst)
    }
    /// How many times the manager asked to resume reading.
    pub fn resume_requests(&self) -> usize {
        self.resume_requests.load(Ordering::SeqCst)
    }
}

impl PartialEq for PipeDescriptor {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for PipeDescriptor {}
impl Hash for PipeDescriptor {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}

impl SocketDescriptor for PipeDescriptor {
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize {
        if resume_read {
            self.resume_requests.fetch_add(1, Ordering::Relaxed);
        }
        if self.is_disconnected() {
            return 0;
        }
        let mut b = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        let room = self
            .capacity
            .load(Ordering::Relaxed)
            .saturating_sub(b.len());
        let n = data.len().min(room);
        b.extend_from_slice(&data[..n]);
        n
    }
    fn disconnect_socket(&mut self) {
        self.disconnected.store(true, Ordering::SeqCst);
    }
}
