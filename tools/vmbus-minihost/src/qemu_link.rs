// SPDX-License-Identifier: GPL-2.0

//! The QEMU end of an external VMBus host.
//!
//! QEMU's `-device vmbus-bridge,external=<chardev>` (the project's QEMU patch series,
//! tools/qemu/patches) hands the VMBus host role to a process outside QEMU. This module speaks
//! that socket protocol, as specified in `Documentation/qemu-external-host.rst`, and nothing
//! else: it knows frames, SynIC messages, event flags and guest RAM, not VMBus channel messages.
//!
//! The host listens on a unix socket ([`listen`]) and QEMU connects to it
//! (`-chardev socket,id=vmbx,path=<path>`). A [`QemuLink`] over the accepted stream yields the
//! [`Event`]s QEMU sends (its HELLO, the guest memory table, the guest's posted messages and
//! signals, delivery reports, VM resets) and sends the host's requests: post a SynIC message to
//! a vCPU's SINT, set an event flag and raise the SINT, (un)register the event connection ids
//! whose guest signals the host wants. [`GuestMemory`] maps the guest RAM from the fds of the
//! memory table.
//!
//! Reading and writing are independent: [`QemuLink::sender`] gives a [`QemuSender`] on a clone
//! of the socket, so one thread can block in [`QemuLink::recv`] while others send (each frame is
//! written with one `write_all`; share a sender between threads behind a lock).
//!
//! Every value that comes from QEMU or from the guest is validated; malformed frames end the
//! connection with [`io::ErrorKind::InvalidData`].

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// The protocol version this module implements (HELLO.version).
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest SynIC message payload.
pub const MESSAGE_PAYLOAD_MAX: usize = 240;
/// SINTs per vCPU.
pub const SINT_COUNT: u32 = 16;
/// Event flags per SINT event page slot.
pub const EVENT_FLAGS_COUNT: u32 = 2048;
/// Largest frame (header included) either side may send.
pub const MAX_FRAME: usize = 4096;

const HEADER_LEN: usize = 8;
const MAX_FDS_PER_READ: usize = 32;

/// Frame types.
mod ty {
    pub(super) const HELLO: u32 = 0x0001;
    pub(super) const MEM_TABLE: u32 = 0x0002;
    pub(super) const GUEST_MESSAGE: u32 = 0x0003;
    pub(super) const GUEST_EVENT: u32 = 0x0004;
    pub(super) const POST_DONE: u32 = 0x0005;
    pub(super) const RESET: u32 = 0x0006;
    pub(super) const POST_MESSAGE: u32 = 0x0101;
    pub(super) const SIGNAL_EVENT: u32 = 0x0102;
    pub(super) const REGISTER_EVENT: u32 = 0x0103;
    pub(super) const UNREGISTER_EVENT: u32 = 0x0104;
}

/// The outcome of a [`QemuSender::post_message`], reported by [`Event::PostDone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostStatus {
    /// The message is in the vCPU's SINT message slot and the SINT was raised.
    Delivered,
    /// Invalid vCPU, SINT, message type or size; nothing was posted.
    BadRequest,
    /// The vCPU's SynIC has no message page enabled; the message was dropped.
    NoSynic,
    /// Too many messages queued for this (vCPU, SINT); nothing was posted.
    QueueFull,
    /// The VM was reset (or the message was otherwise abandoned) before delivery.
    Canceled,
    /// Any other failure in QEMU.
    Failed,
    /// A status this module does not know.
    Unknown(u32),
}

impl PostStatus {
    fn from_wire(v: u32) -> Self {
        match v {
            0 => Self::Delivered,
            1 => Self::BadRequest,
            2 => Self::NoSynic,
            3 => Self::QueueFull,
            4 => Self::Canceled,
            5 => Self::Failed,
            v => Self::Unknown(v),
        }
    }
}

/// What QEMU sent.
#[derive(Debug)]
pub enum Event {
    /// The first frame of a connection.
    Hello {
        /// QEMU's protocol version.
        version: u32,
        /// Number of vCPUs; their VP indexes are `0..vp_count`.
        vp_count: u32,
        /// Feature bits, none defined yet.
        features: u64,
    },
    /// The guest RAM layout, already mapped; the second frame of a connection.
    MemTable(GuestMemory),
    /// The guest posted a message (HvPostMessage) on a VMBus message connection id (1 or 4).
    GuestMessage {
        /// The connection id the guest posted on.
        connection_id: u32,
        /// The guest's message type (1 for VMBus).
        message_type: u32,
        /// The VP index of the vCPU that posted it.
        vp_index: u32,
        /// The message, at most [`MESSAGE_PAYLOAD_MAX`] bytes.
        payload: Vec<u8>,
    },
    /// The guest signaled (HvSignalEvent) a connection id the host registered. Signals of one
    /// connection id that arrive while an earlier one is not yet forwarded are coalesced.
    GuestEvent {
        /// The connection id.
        connection_id: u32,
    },
    /// The outcome of a posted message.
    PostDone {
        /// The cookie given to [`QemuSender::post_message`].
        cookie: u64,
        /// What happened to it.
        status: PostStatus,
    },
    /// The VM was reset: QEMU has reported every outstanding post (as
    /// [`PostStatus::Canceled`] unless already done) and dropped all registered event
    /// connection ids. The guest memory layout is unchanged.
    Reset,
    /// A frame type this module does not know (ignored, for forward compatibility).
    Unknown {
        /// The frame type.
        frame_type: u32,
    },
}

/// Listens on `path` for QEMU, replacing a stale socket file left by an earlier run.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

fn invalid(what: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("vmbus-bridge protocol: {what}"),
    )
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

/// The receiving end of a connection with QEMU.
#[derive(Debug)]
pub struct QemuLink {
    stream: UnixStream,
    inbuf: Vec<u8>,
    fds: VecDeque<OwnedFd>,
}

impl QemuLink {
    /// Wraps a stream accepted from the [`listen`]ing socket.
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            inbuf: Vec::new(),
            fds: VecDeque::new(),
        }
    }

    /// A sender on a clone of the socket.
    pub fn sender(&self) -> io::Result<QemuSender> {
        Ok(QemuSender {
            stream: self.stream.try_clone()?,
        })
    }

    /// The next event; `Ok(None)` when QEMU closed the connection between frames.
    pub fn recv(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(event) = self.parse()? {
                return Ok(Some(event));
            }
            if self.fill()? == 0 {
                return if self.inbuf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "QEMU closed mid-frame",
                    ))
                };
            }
        }
    }

    /// Reads what is available, keeping any passed fds in arrival order.
    fn fill(&mut self) -> io::Result<usize> {
        let mut data = [0u8; 16384];
        // u64 elements keep the control buffer aligned for cmsghdr.
        let mut control = [0u64; 64];
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE((MAX_FDS_PER_READ * size_of::<RawFd>()) as u32) };
        let control_len = (space as usize).min(size_of_val(&control));
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control_len;
        let n = loop {
            // SAFETY: msg points to live buffers of the lengths it states.
            let n =
                unsafe { libc::recvmsg(self.stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        // SAFETY: msg was filled by recvmsg; the CMSG_* macros walk its control buffer.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    let p: *const RawFd = libc::CMSG_DATA(cmsg).cast();
                    for i in 0..payload / size_of::<RawFd>() {
                        // The kernel installed these fds for us: we own them now.
                        self.fds
                            .push_back(OwnedFd::from_raw_fd(p.add(i).read_unaligned()));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(invalid("too many fds in one message"));
        }
        self.inbuf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    /// Decodes one complete frame from the input buffer, if there is one.
    fn parse(&mut self) -> io::Result<Option<Event>> {
        if self.inbuf.len() < HEADER_LEN {
            return Ok(None);
        }
        let frame_type = u32_at(&self.inbuf, 0);
        let size = u32_at(&self.inbuf, 4) as usize;
        if size > MAX_FRAME - HEADER_LEN {
            return Err(invalid(format_args!("frame of {size} bytes")));
        }
        if self.inbuf.len() < HEADER_LEN + size {
            return Ok(None);
        }
        let frame: Vec<u8> = self
            .inbuf
            .drain(..HEADER_LEN + size)
            .skip(HEADER_LEN)
            .collect();
        self.decode(frame_type, &frame).map(Some)
    }

    fn decode(&mut self, frame_type: u32, p: &[u8]) -> io::Result<Event> {
        let need = |n: usize, exact: bool| {
            if p.len() < n || (exact && p.len() != n) {
                Err(invalid(format_args!(
                    "frame type {frame_type:#x} of {} bytes",
                    p.len()
                )))
            } else {
                Ok(())
            }
        };
        Ok(match frame_type {
            ty::HELLO => {
                need(16, false)?;
                Event::Hello {
                    version: u32_at(p, 0),
                    vp_count: u32_at(p, 4),
                    features: u64_at(p, 8),
                }
            }
            ty::MEM_TABLE => {
                need(8, false)?;
                let nregions = u32_at(p, 0) as usize;
                let nfds = u32_at(p, 4) as usize;
                need(8 + nregions * 32, true)?;
                if self.fds.len() < nfds {
                    return Err(invalid("MEM_TABLE arrived without its fds"));
                }
                let fds: Vec<OwnedFd> = self.fds.drain(..nfds).collect();
                let regions = (0..nregions)
                    .map(|i| {
                        let r = &p[8 + i * 32..8 + (i + 1) * 32];
                        MemRegion {
                            gpa: u64_at(r, 0),
                            size: u64_at(r, 8),
                            fd_offset: u64_at(r, 16),
                            fd_index: u32_at(r, 24),
                        }
                    })
                    .collect::<Vec<_>>();
                Event::MemTable(GuestMemory::map(&regions, &fds)?)
            }
            ty::GUEST_MESSAGE => {
                need(16, false)?;
                let len = u32_at(p, 12) as usize;
                if len > MESSAGE_PAYLOAD_MAX {
                    return Err(invalid("guest message payload too long"));
                }
                need(16 + len, true)?;
                Event::GuestMessage {
                    connection_id: u32_at(p, 0),
                    message_type: u32_at(p, 4),
                    vp_index: u32_at(p, 8),
                    payload: p[16..].to_vec(),
                }
            }
            ty::GUEST_EVENT => {
                need(8, true)?;
                Event::GuestEvent {
                    connection_id: u32_at(p, 0),
                }
            }
            ty::POST_DONE => {
                need(16, true)?;
                Event::PostDone {
                    cookie: u64_at(p, 0),
                    status: PostStatus::from_wire(u32_at(p, 8)),
                }
            }
            ty::RESET => Event::Reset,
            frame_type => Event::Unknown { frame_type },
        })
    }
}

/// The sending end of a connection with QEMU.
#[derive(Debug)]
pub struct QemuSender {
    stream: UnixStream,
}

impl QemuSender {
    fn send(&mut self, frame_type: u32, parts: &[&[u8]]) -> io::Result<()> {
        let size: usize = parts.iter().map(|p| p.len()).sum();
        let mut frame = Vec::with_capacity(HEADER_LEN + size);
        frame.extend_from_slice(&frame_type.to_le_bytes());
        frame.extend_from_slice(&(size as u32).to_le_bytes());
        for p in parts {
            frame.extend_from_slice(p);
        }
        self.stream.write_all(&frame)
    }

    /// Posts a SynIC message to `sint` of vCPU `vp_index`. QEMU delivers the messages of one
    /// (vCPU, SINT) in order, waiting for the guest to free the slot (EOM) when it is busy,
    /// and answers each with one [`Event::PostDone`] carrying `cookie`. At most 64 may be
    /// outstanding per (vCPU, SINT); more are refused with [`PostStatus::QueueFull`].
    pub fn post_message(
        &mut self,
        cookie: u64,
        vp_index: u32,
        sint: u32,
        message_type: u32,
        payload: &[u8],
    ) -> io::Result<()> {
        if payload.len() > MESSAGE_PAYLOAD_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "SynIC message payload too long",
            ));
        }
        self.send(
            ty::POST_MESSAGE,
            &[
                &cookie.to_le_bytes(),
                &vp_index.to_le_bytes(),
                &sint.to_le_bytes(),
                &message_type.to_le_bytes(),
                &(payload.len() as u32).to_le_bytes(),
                payload,
            ],
        )
    }

    /// Sets event flag `flag` in `sint`'s slot of vCPU `vp_index`'s event page, and raises the
    /// SINT if the flag was clear. There is no answer.
    pub fn signal_event(&mut self, vp_index: u32, sint: u32, flag: u32) -> io::Result<()> {
        self.send(
            ty::SIGNAL_EVENT,
            &[
                &vp_index.to_le_bytes(),
                &sint.to_le_bytes(),
                &flag.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
        )
    }

    /// Forwards the guest's HvSignalEvent on `connection_id` as [`Event::GuestEvent`].
    /// Registering an id twice is harmless. Registrations end with the VM reset.
    pub fn register_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.send(
            ty::REGISTER_EVENT,
            &[&connection_id.to_le_bytes(), &0u32.to_le_bytes()],
        )
    }

    /// Stops forwarding the guest's signals on `connection_id`.
    pub fn unregister_event(&mut self, connection_id: u32) -> io::Result<()> {
        self.send(
            ty::UNREGISTER_EVENT,
            &[&connection_id.to_le_bytes(), &0u32.to_le_bytes()],
        )
    }
}

/// One range of the memory table.
#[derive(Clone, Copy, Debug)]
struct MemRegion {
    gpa: u64,
    size: u64,
    fd_offset: u64,
    fd_index: u32,
}

#[derive(Debug)]
struct Mapping {
    gpa: u64,
    size: u64,
    ptr: *mut u8,
}

/// The guest RAM, mapped shared from the fds of QEMU's memory table.
///
/// The guest changes this memory concurrently: every read is a snapshot of untrusted data.
/// Accesses must lie within mapped RAM (they may span adjacent ranges); the rest of the
/// guest physical address space (MMIO, holes, QEMU-private pages such as the SynIC pages) is
/// not accessible.
#[derive(Debug)]
pub struct GuestMemory {
    maps: Vec<Mapping>,
}

// SAFETY: the mappings are plain shared memory owned by this value; nothing in it is tied to a
// thread, and the accessors copy with raw pointers, never handing out references.
unsafe impl Send for GuestMemory {}
// SAFETY: as above; concurrent accesses through `&self` only copy bytes in and out.
unsafe impl Sync for GuestMemory {}

/// A guest physical access outside mapped RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The first guest physical address that is not mapped.
    pub gpa: u64,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "guest physical address {:#x} is not shared RAM",
            self.gpa
        )
    }
}

impl std::error::Error for OutOfRange {}

impl GuestMemory {
    fn map(regions: &[MemRegion], fds: &[OwnedFd]) -> io::Result<Self> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
        let mut mem = GuestMemory {
            maps: Vec::with_capacity(regions.len()),
        };
        for r in regions {
            let fd = fds
                .get(r.fd_index as usize)
                .ok_or_else(|| invalid("region fd index out of range"))?;
            if r.size == 0 || r.fd_offset % page != 0 || r.gpa.checked_add(r.size).is_none() {
                return Err(invalid(format_args!("bad region {r:?}")));
            }
            let len = usize::try_from(r.size).map_err(|_| invalid("region too large"))?;
            let off = libc::off_t::try_from(r.fd_offset)
                .map_err(|_| invalid("region offset too large"))?;
            // SAFETY: a fresh shared mapping of an fd QEMU gave us; it aliases no Rust object.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    off,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            mem.maps.push(Mapping {
                gpa: r.gpa,
                size: r.size,
                ptr: ptr.cast(),
            });
        }
        mem.maps.sort_by_key(|m| m.gpa);
        Ok(mem)
    }

    /// The mapped ranges, as (guest physical address, size), in address order.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.maps.iter().map(|m| (m.gpa, m.size))
    }

    /// Calls `f(host pointer, offset in the access, length)` for each mapped piece of
    /// `[gpa, gpa + len)`, or fails before any call if a byte of it is not mapped.
    fn for_each_piece(
        &self,
        gpa: u64,
        len: usize,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), OutOfRange> {
        let mut pieces = Vec::new();
        let mut done = 0usize;
        while done < len {
            let at = gpa
                .checked_add(done as u64)
                .ok_or(OutOfRange { gpa: u64::MAX })?;
            let m = self
                .maps
                .iter()
                .find(|m| at >= m.gpa && at - m.gpa < m.size)
                .ok_or(OutOfRange { gpa: at })?;
            let in_map = (at - m.gpa) as usize;
            let n = (len - done).min(m.size as usize - in_map);
            // SAFETY: in_map < m.size, so the pointer stays inside the mapping.
            pieces.push((unsafe { m.ptr.add(in_map) }, done, n));
            done += n;
        }
        for (p, off, n) in pieces {
            f(p, off, n);
        }
        Ok(())
    }

    /// Copies guest memory at `gpa` into `buf`.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        let dst = buf.as_mut_ptr();
        self.for_each_piece(gpa, buf.len(), |p, off, n| {
            // SAFETY: p..p+n is mapped (for_each_piece) and dst+off..+n is inside buf; guest
            // memory is never a Rust object, so the ranges cannot overlap.
            unsafe { std::ptr::copy_nonoverlapping(p, dst.add(off), n) }
        })
    }

    /// Copies `data` into guest memory at `gpa`.
    pub fn write(&self, gpa: u64, data: &[u8]) -> Result<(), OutOfRange> {
        let src = data.as_ptr();
        self.for_each_piece(gpa, data.len(), |p, off, n| {
            // SAFETY: as in read(), with the direction reversed.
            unsafe { std::ptr::copy_nonoverlapping(src.add(off), p, n) }
        })
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        for m in &self.maps {
            // SAFETY: each mapping was created by map() with this size and is unmapped once.
            unsafe { libc::munmap(m.ptr.cast(), m.size as usize) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::FileExt;

    fn frame(frame_type: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = frame_type.to_le_bytes().to_vec();
        f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// Sends `data` with `fds` attached, as QEMU does for MEM_TABLE.
    fn send_with_fds(sock: &UnixStream, data: &[u8], fds: &[RawFd]) {
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE only computes a size.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of_val(fds) as u32) } as usize;
        // SAFETY: the control buffer is large enough for one cmsg with these fds.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of_val(fds) as u32) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
        }
        // SAFETY: msg points to live buffers.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
        assert_eq!(n as usize, data.len());
    }

    fn memfd(size: usize) -> OwnedFd {
        // SAFETY: memfd_create with a NUL-terminated name; the fd is ours.
        let fd = unsafe { libc::memfd_create(c"test".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fd was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain syscall on an fd we own.
        let r = unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) };
        assert_eq!(r, 0);
        fd
    }

    #[test]
    fn hello_message_event_and_partial_reads() {
        let (qemu, host) = UnixStream::pair().unwrap();
        let mut link = QemuLink::new(host);
        let mut bytes = frame(ty::HELLO, &[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut msg = 4u32.to_le_bytes().to_vec(); // connection id
        msg.extend_from_slice(&1u32.to_le_bytes()); // message type
        msg.extend_from_slice(&1u32.to_le_bytes()); // vp index
        msg.extend_from_slice(&3u32.to_le_bytes()); // payload size
        msg.extend_from_slice(b"abc");
        bytes.extend(frame(ty::GUEST_MESSAGE, &msg));
        bytes.extend(frame(ty::GUEST_EVENT, &[7, 0, 0, 0, 0, 0, 0, 0]));
        bytes.extend(frame(ty::RESET, &[]));
        bytes.extend(frame(0x77, &[1, 2, 3]));
        // Byte by byte: frames must be reassembled.
        let writer = std::thread::spawn(move || {
            let mut qemu = qemu;
            for b in bytes {
                qemu.write_all(&[b]).unwrap();
            }
        });
        assert!(matches!(
            link.recv().unwrap(),
            Some(Event::Hello {
                version: 1,
                vp_count: 2,
                features: 0
            })
        ));
        match link.recv().unwrap() {
            Some(Event::GuestMessage {
                connection_id: 4,
                message_type: 1,
                vp_index: 1,
                payload,
            }) => {
                assert_eq!(payload, b"abc")
            }
            e => panic!("unexpected {e:?}"),
        }
        assert!(matches!(
            link.recv().unwrap(),
            Some(Event::GuestEvent { connection_id: 7 })
        ));
        assert!(matches!(link.recv().unwrap(), Some(Event::Reset)));
        assert!(matches!(
            link.recv().unwrap(),
            Some(Event::Unknown { frame_type: 0x77 })
        ));
        writer.join().unwrap();
        assert!(link.recv().unwrap().is_none());
    }

    #[test]
    fn mem_table_maps_guest_ram() {
        let (qemu, host) = UnixStream::pair().unwrap();
        let mut link = QemuLink::new(host);
        let fd = memfd(0x300000);
        // Two regions of one fd, with a hole between them (like q35's [0, 0xa0000) + [0xc0000, ..)).
        let mut table = 2u32.to_le_bytes().to_vec();
        table.extend_from_slice(&1u32.to_le_bytes());
        for (gpa, size, off) in [(0u64, 0xa0000u64, 0u64), (0xc0000, 0x240000, 0xc0000)] {
            for v in [gpa, size, off] {
                table.extend_from_slice(&v.to_le_bytes());
            }
            table.extend_from_slice(&[0; 8]); // fd index 0, flags
        }
        send_with_fds(&qemu, &frame(ty::MEM_TABLE, &table), &[fd.as_raw_fd()]);
        let Some(Event::MemTable(mem)) = link.recv().unwrap() else {
            panic!("no memory table")
        };
        assert_eq!(
            mem.ranges().collect::<Vec<_>>(),
            [(0, 0xa0000), (0xc0000, 0x240000)]
        );

        // Writes land in the fd at the right offset, and reads see the fd.
        mem.write(0xc1000, b"hello").unwrap();
        let mut back = [0u8; 5];
        std::fs::File::from(fd.try_clone().unwrap())
            .read_exact_at(&mut back, 0xc1000)
            .unwrap();
        assert_eq!(&back, b"hello");
        let mut word = [0u8; 5];
        mem.read(0xc1000, &mut word).unwrap();
        assert_eq!(&word, b"hello");

        // The hole and the end are not accessible, not even partly.
        assert_eq!(
            mem.read(0x9fffe, &mut [0; 4]),
            Err(OutOfRange { gpa: 0xa0000 })
        );
        assert_eq!(
            mem.write(0x2ffffe, &[0; 4]),
            Err(OutOfRange { gpa: 0x300000 })
        );
    }

    #[test]
    fn mem_table_without_fds_is_an_error() {
        let (mut qemu, host) = UnixStream::pair().unwrap();
        let mut link = QemuLink::new(host);
        let mut table = 0u32.to_le_bytes().to_vec();
        table.extend_from_slice(&1u32.to_le_bytes());
        qemu.write_all(&frame(ty::MEM_TABLE, &table)).unwrap();
        assert_eq!(link.recv().unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn oversized_frame_is_an_error() {
        let (mut qemu, host) = UnixStream::pair().unwrap();
        let mut link = QemuLink::new(host);
        qemu.write_all(&ty::GUEST_MESSAGE.to_le_bytes()).unwrap();
        qemu.write_all(&(MAX_FRAME as u32).to_le_bytes()).unwrap();
        assert_eq!(link.recv().unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn sender_frames() {
        let (mut qemu, host) = UnixStream::pair().unwrap();
        let link = QemuLink::new(host);
        let mut tx = link.sender().unwrap();
        tx.post_message(0x1122334455667788, 1, 2, 1, b"xy").unwrap();
        tx.signal_event(1, 2, 5).unwrap();
        tx.register_event(9).unwrap();
        tx.unregister_event(9).unwrap();
        assert!(tx
            .post_message(0, 0, 0, 1, &[0; MESSAGE_PAYLOAD_MAX + 1])
            .is_err());
        drop(tx);
        drop(link);
        let mut got = Vec::new();
        qemu.read_to_end(&mut got).unwrap();
        let mut want = frame(
            ty::POST_MESSAGE,
            &[
                0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0,
                2, 0, 0, 0, b'x', b'y',
            ],
        );
        want.extend(frame(
            ty::SIGNAL_EVENT,
            &[1, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0],
        ));
        want.extend(frame(ty::REGISTER_EVENT, &[9, 0, 0, 0, 0, 0, 0, 0]));
        want.extend(frame(ty::UNREGISTER_EVENT, &[9, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(got, want);
    }

    #[test]
    fn post_status_values() {
        let all = (0..7).map(PostStatus::from_wire).collect::<Vec<_>>();
        assert_eq!(
            all,
            [
                PostStatus::Delivered,
                PostStatus::BadRequest,
                PostStatus::NoSynic,
                PostStatus::QueueFull,
                PostStatus::Canceled,
                PostStatus::Failed,
                PostStatus::Unknown(6)
            ]
        );
    }
}
