//! A std-only driver running a [`PeerManager`] over `std::net::TcpStream`s
//! with plain threads: no async runtime.
//!
//! Each connection gets a reader thread (reads up to 64 KiB, feeds
//! `read_event`, then calls `process_events`) and a writer thread (drains a
//! bounded queue that `send_data` fills, and tells the manager when there is
//! room again). [`connect_outbound`] dials, [`setup_inbound`] adopts an
//! accepted stream, [`listen`] runs an accept loop, and [`spawn_timer`]
//! calls `process_events` and `timer_tick_occurred` on a schedule.

use crate::msgs::SocketAddress;
use crate::peer::{PeerManager, SocketDescriptor};
use bitcoin::secp256k1::PublicKey;
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Bytes a connection's writer queue holds before `send_data` accepts less.
const WRITE_QUEUE_CAP: usize = 256 * 1024;
/// Size of one read from the socket.
const READ_CHUNK: usize = 64 * 1024;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct WriteQueue {
    buf: Vec<u8>,
    /// `send_data` refused bytes: tell the manager once the queue drains.
    want_space: bool,
    closed: bool,
}

struct Conn {
    stream: TcpStream,
    queue: Mutex<WriteQueue>,
    queue_cv: Condvar,
    read_paused: Mutex<bool>,
    read_cv: Condvar,
    /// Set when the manager asked to disconnect (no `socket_disconnected` then).
    closed_by_manager: AtomicBool,
}

impl Conn {
    fn close(&self) {
        lock(&self.queue).closed = true;
        self.queue_cv.notify_all();
        *lock(&self.read_paused) = false;
        self.read_cv.notify_all();
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// The [`SocketDescriptor`] of one TCP connection.
#[derive(Clone)]
pub struct TcpDescriptor {
    id: u64,
    conn: Arc<Conn>,
}

impl core::fmt::Debug for TcpDescriptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TcpDescriptor({})", self.id)
    }
}
impl PartialEq for TcpDescriptor {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for TcpDescriptor {}
impl Hash for TcpDescriptor {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}

impl SocketDescriptor for TcpDescriptor {
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize {
        if resume_read {
            *lock(&self.conn.read_paused) = false;
            self.conn.read_cv.notify_all();
        }
        if data.is_empty() {
            return 0;
        }
        let mut q = lock(&self.conn.queue);
        if q.closed {
            return 0;
        }
        let room = WRITE_QUEUE_CAP.saturating_sub(q.buf.len());
        let n = room.min(data.len());
        q.buf.extend_from_slice(&data[..n]);
        if n < data.len() {
            q.want_space = true;
        }
        drop(q);
        if n > 0 {
            self.conn.queue_cv.notify_all();
        }
        n
    }

    fn disconnect_socket(&mut self) {
        self.conn.closed_by_manager.store(true, Ordering::SeqCst);
        self.conn.close();
    }
}

/// The manager type this driver runs.
pub type TcpPeerManager = PeerManager<TcpDescriptor>;

fn socket_address(addr: &SocketAddr) -> SocketAddress {
    match addr {
        SocketAddr::V4(a) => SocketAddress::TcpIpV4 {
            addr: a.ip().octets(),
            port: a.port(),
        },
        SocketAddr::V6(a) => SocketAddress::TcpIpV6 {
            addr: a.ip().octets(),
            port: a.port(),
        },
    }
}

fn new_descriptor(stream: TcpStream) -> TcpDescriptor {
    let _ = stream.set_nodelay(true);
    TcpDescriptor {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        conn: Arc::new(Conn {
            stream,
            queue: Mutex::new(WriteQueue::default()),
            queue_cv: Condvar::new(),
            read_paused: Mutex::new(false),
            read_cv: Condvar::new(),
            closed_by_manager: AtomicBool::new(false),
        }),
    }
}

fn spawn_threads(pm: Arc<TcpPeerManager>, desc: TcpDescriptor) -> io::Result<JoinHandle<()>> {
    let mut read_stream = desc.conn.stream.try_clone()?;
    let mut write_stream = desc.conn.stream.try_clone()?;
    let wpm = pm.clone();
    let wdesc = desc.clone();
    thread::Builder::new()
        .name("lnkit-peer-write".into())
        .spawn(move || {
            let conn = wdesc.conn.clone();
            let mut spare = Vec::new();
            loop {
                let want_space;
                {
                    let mut q = lock(&conn.queue);
                    while q.buf.is_empty() && !q.closed {
                        q = conn.queue_cv.wait(q).unwrap_or_else(|e| e.into_inner());
                    }
                    if q.buf.is_empty() && q.closed {
                        break;
                    }
                    spare.clear();
                    std::mem::swap(&mut q.buf, &mut spare);
                    want_space = std::mem::take(&mut q.want_space);
                }
                if write_stream.write_all(&spare).is_err() {
                    conn.close();
                    break;
                }
                if want_space {
                    let mut d = wdesc.clone();
                    if wpm.write_buffer_space_avail(&mut d).is_err() {
                        conn.close();
                        break;
                    }
                }
            }
        })?;
    thread::Builder::new()
        .name("lnkit-peer-read".into())
        .spawn(move || {
            let conn = desc.conn.clone();
            let mut buf = vec![0u8; READ_CHUNK];
            let mut d = desc.clone();
            loop {
                {
                    let mut paused = lock(&conn.read_paused);
                    while *paused {
                        paused = conn.read_cv.wait(paused).unwrap_or_else(|e| e.into_inner());
                    }
                }
                let n = match read_stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                match pm.read_event(&mut d, &buf[..n]) {
                    Ok(pause) => {
                        if pause {
                            *lock(&conn.read_paused) = true;
                        }
                    }
                    Err(_) => {
                        // The manager already forgot the peer.
                        conn.closed_by_manager.store(true, Ordering::SeqCst);
                        break;
                    }
                }
                pm.process_events();
            }
            if !conn.closed_by_manager.load(Ordering::SeqCst) {
                pm.socket_disconnected(&desc);
            }
            conn.close();
            pm.process_events();
        })
}

/// Dials `addr`, starts the BOLT 8 handshake with `their_node_id` and runs
/// the connection on its own threads. Returns the reader thread's handle,
/// which ends when the connection does.
pub fn connect_outbound(
    pm: Arc<TcpPeerManager>,
    their_node_id: PublicKey,
    addr: impl ToSocketAddrs,
) -> io::Result<JoinHandle<()>> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    let mut desc = new_descriptor(stream);
    let act1 = pm
        .new_outbound_connection(their_node_id, desc.clone(), Some(socket_address(&addr)))
        .map_err(|e| io::Error::other(e.to_string()))?;
    let handle = spawn_threads(pm, desc.clone())?;
    if desc.send_data(&act1, false) != act1.len() {
        return Err(io::Error::other("could not queue act one"));
    }
    Ok(handle)
}

/// Adopts an accepted stream as an inbound connection and runs it on its
/// own threads. Fails (closing the stream) if the manager refuses it.
pub fn setup_inbound(pm: Arc<TcpPeerManager>, stream: TcpStream) -> io::Result<JoinHandle<()>> {
    let remote = stream.peer_addr().ok().map(|a| socket_address(&a));
    let desc = new_descriptor(stream);
    if let Err(e) = pm.new_inbound_connection(desc.clone(), remote) {
        desc.conn.close();
        return Err(io::Error::other(e.to_string()));
    }
    spawn_threads(pm, desc)
}

/// A running accept loop; [`Listener::stop`] ends it.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Listener {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// Stops accepting (existing connections keep running).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.local_addr, Duration::from_secs(1));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Binds `addr` and accepts connections into `pm` on a background thread.
pub fn listen(pm: Arc<TcpPeerManager>, addr: impl ToSocketAddrs) -> io::Result<Listener> {
    let listener = TcpListener::bind(addr)?;
    let local_addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = thread::Builder::new()
        .name("lnkit-peer-listen".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                match stream {
                    Ok(stream) => {
                        let _ = setup_inbound(pm.clone(), stream);
                    }
                    // Out of descriptors or similar: back off instead of spinning.
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            }
        })?;
    Ok(Listener {
        local_addr,
        stop,
        handle: Some(handle),
    })
}

/// A background thread calling `process_events` every `poll` and
/// `timer_tick_occurred` every `tick`; [`Timer::stop`] ends it.
#[derive(Debug)]
pub struct Timer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Timer {
    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Starts the timer thread (see [`Timer`]).
pub fn spawn_timer(pm: Arc<TcpPeerManager>, poll: Duration, tick: Duration) -> io::Result<Timer> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = thread::Builder::new()
        .name("lnkit-peer-timer".into())
        .spawn(move || {
            let mut since_tick = Duration::ZERO;
            while !s.load(Ordering::SeqCst) {
                thread::sleep(poll);
                pm.process_events();
                since_tick += poll;
                if since_tick >= tick {
                    since_tick = Duration::ZERO;
                    pm.timer_tick_occurred();
                }
            }
        })?;
    Ok(Timer {
        stop,
        handle: Some(handle),
    })
}
