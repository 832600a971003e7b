// SPDX-License-Identifier: GPL-2.0

//! Misc character devices with `poll`, for the util daemons' `/dev/vmbus/hv_*` devices.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)
//!
//! `kernel::miscdevice` (7.2) has neither `poll` nor a `file_operations.owner`, so this builds
//! the `file_operations` by hand, as Rust binder does. A device is a [`Registration`] of an
//! [`Operations`] object `T` shared through an [`Arc`]: every open file holds a reference to it
//! (in `file->private_data`), so the operations see `&T` and never per-open state. They get no
//! `struct file` either: these devices ignore the file position and flags, as the C util
//! transport does.
//!
//! # Lifetime at unload
//!
//! `misc_deregister()` waits for nothing: files opened before it stay open, and their
//! operations may run at any time until their last `close()`. Three things keep that sound:
//!
//! - The code: `file_operations.owner` is [`Operations::OWNER`], the `THIS_MODULE` of the
//!   module that implements `T` (where the generic fops are instantiated), so every open file
//!   holds a reference on that module (`fops_get()` in `misc_open()`) and it cannot be unloaded
//!   until the file's last `fput()` has returned from `release` and called `module_put()`.
//! - The `file_operations` table: a `static` of that same module (a promoted constant of
//!   `VTable<T>`), not a field of the registration, because the VFS reads `f_op->owner` after
//!   `release` returns.
//! - The data: the registration holds one `Arc<T>`, every open file another one, dropped in
//!   `release`. Dropping the [`Registration`] only drops its own reference; `T` is freed by the
//!   last of the registration and the open files.
//! - The wait queues: [`PollWait::register`] takes a [`PollCondVar`], which `T` holds, so it
//!   lives as long as the file. Epoll drops its entries when the file is closed, before
//!   `release`, and the `PollCondVar` detaches any left (`__wake_up_pollfree()`) when dropped.
//!
//! `open` itself reaches the registration, but `misc_open()` calls it under `misc_mtx`, which
//! `misc_deregister()` takes too: no `open` runs on a registration that is being dropped.
//! To make the operations of files that outlive the registration fail (as the C util transport
//! does with `-EBADF`), [`Operations::revoke`] runs when the registration is dropped, before
//! `misc_deregister()`; see `drivers/hv/utils/transport.rs`.

use core::{
    marker::PhantomData,
    ops::BitOr, //
};

use kernel::{
    bindings,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::{
        c_char,
        c_int,
        c_uint, //
    },
    fs::File,
    prelude::*,
    sync::{
        poll::{
            PollCondVar,
            PollTable, //
        },
        Arc,
    },
    types::{
        ForeignOwnable,
        Opaque, //
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader,
        UserSliceWriter, //
    },
    ThisModule, //
};

/// A set of poll events (`__poll_t`), the result of [`Operations::poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollMask(u32);

impl PollMask {
    /// No event: nothing to read, no error.
    pub const NONE: Self = Self(0);
    /// `EPOLLIN`: there is data to read.
    pub const IN: Self = Self(bindings::POLLIN);
    /// `EPOLLRDNORM`: there is normal data to read (reported together with [`Self::IN`]).
    pub const RDNORM: Self = Self(bindings::POLLRDNORM);
    /// `EPOLLOUT`: writing would not block.
    pub const OUT: Self = Self(bindings::POLLOUT);
    /// `EPOLLWRNORM`: writing normal data would not block.
    pub const WRNORM: Self = Self(bindings::POLLWRNORM);
    /// `EPOLLERR`: an error condition.
    pub const ERR: Self = Self(bindings::POLLERR);
    /// `EPOLLHUP`: the other side is gone.
    pub const HUP: Self = Self(bindings::POLLHUP);

    /// Returns the raw `__poll_t` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl BitOr for PollMask {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The `poll_wait()` side of a `poll` call: registers the caller on wait queues.
///
/// It wraps the file and the `poll_table` of the call, and lives only during it.
pub struct PollWait<'a> {
    file: &'a File,
    table: PollTable<'a>,
}

impl PollWait<'_> {
    /// Adds `cv` to the wait queues whose notification makes `poll`/`select`/`epoll` call
    /// [`Operations::poll`] again (`poll_wait()`).
    pub fn register(&self, cv: &PollCondVar) {
        self.table.register_wait(self.file, cv);
    }
}

/// The file operations of a misc device, on an object shared by the device and its open files.
///
/// `open` and `release` are always installed; `read`, `write` and `poll` only when implemented
/// (`#[vtable]`); `llseek` is never installed, so `lseek()` fails with `-ESPIPE`, as on the C
/// util transport's devices. The file position is ignored.
#[vtable]
pub trait Operations: Send + Sync + Sized + 'static {
    /// The module that implements these operations: `&THIS_MODULE` of the implementing crate.
    ///
    /// It becomes `file_operations.owner`, which keeps that module loaded while a file is
    /// open. It must be the module whose code implements the trait (the one where the generic
    /// file operations are instantiated); any other module would let the code be unloaded
    /// under an open file.
    const OWNER: &'static ThisModule;

    /// Called when the device is opened; an error fails the `open()`.
    fn open(&self) -> Result {
        Ok(())
    }

    /// Called on the last close of a file that [`Operations::open`] accepted.
    fn release(&self) {}

    /// Called when the [`Registration`] is dropped, before the device is deregistered: files
    /// still open keep `self` alive, and their operations should fail from now on.
    fn revoke(&self) {}

    /// Reads into `buf` (`count` bytes of user memory); returns the number of bytes written.
    fn read(&self, _buf: UserSliceWriter) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Takes the user's buffer `buf` (`count` bytes); returns the number of bytes consumed.
    fn write(&self, _buf: UserSliceReader) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Registers `wait` on the wait queues that signal a change, then returns the events ready
    /// now.
    fn poll(&self, _wait: &PollWait<'_>) -> PollMask {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device whose files operate on a shared `T`.
///
/// The device node is `/dev/<name>`; a `/` in the name makes a subdirectory (devtmpfs) and a
/// `!` in the sysfs name (`/sys/devices/virtual/misc/vmbus!hv_kvp`), as for the C devices.
///
/// # Invariants
///
/// - `misc` is a `struct miscdevice` registered by `misc_register()` with the file operations
///   of [`VTable<T>`], from the end of the initialization until [`PinnedDrop::drop`]
///   deregisters it.
/// - `data` is initialized before `misc` is registered and never changes.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Operations> {
    data: Arc<T>,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_deregister()` may be called from any thread; `T` is `Send + Sync`.
unsafe impl<T: Operations> Send for Registration<T> {}

// SAFETY: The only `&self` methods read `data`, an `Arc<T>` with `T: Sync`; C serializes its
// accesses to `misc` with `misc_mtx`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers the misc device `name` (e.g. `c"vmbus/hv_kvp"`) with a dynamic minor number;
    /// its open files operate on `data`.
    ///
    /// # Errors
    ///
    /// The errors of `misc_register()`: `-EBUSY` if the name is taken, `-ENOMEM`, ...
    pub fn new(name: &'static CStr, data: Arc<T>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            data,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut misc: bindings::miscdevice = pin_init::zeroed();
                misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                misc.name = name.as_char_ptr();
                misc.fops = VTable::<T>::build();
                // SAFETY: The initializer may write to `slot`, which is valid and pinned.
                unsafe { slot.write(misc) };
                // SAFETY: `slot` holds a valid `struct miscdevice` whose name and fops live
                // forever. It stays at this address until `drop()` deregisters it (the memory is
                // pinned). `data` is already initialized (fields are initialized in order), so
                // an `open` right after the registration finds it.
                // INVARIANT: On success, `misc` is registered with the fops of `VTable<T>`.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }

    /// Returns the object that the device's files operate on.
    pub fn data(&self) -> &Arc<T> {
        &self.data
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        self.data.revoke();
        // SAFETY: `misc` is registered (type invariant) and deregistered exactly once, here.
        // Once this returns, no `open` can reach `self` (`misc_mtx`); files already open hold
        // their own `Arc<T>` and a reference on `T::OWNER`, see the module documentation.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// The `file_operations` of a [`Registration<T>`].
struct VTable<T: Operations>(PhantomData<T>);

impl<T: Operations> VTable<T> {
    /// # Safety
    ///
    /// `file` is a file being opened by `misc_open()` (holding `misc_mtx`) on the `misc` of a
    /// registered [`Registration<T>`].
    unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `misc_open()` set `private_data` to the `struct miscdevice` before calling us.
        let misc = unsafe { (*file).private_data }.cast::<bindings::miscdevice>();
        // SAFETY: That `miscdevice` is the `misc` field of a `Registration<T>` (only
        // `Registration<T>::new` uses these fops); `Opaque` is `repr(transparent)`.
        let reg = unsafe { kernel::container_of!(Opaque::cast_from(misc), Registration<T>, misc) };
        // SAFETY: The registration is alive: `misc_open()` holds `misc_mtx`, which its
        // `misc_deregister()` needs, for the whole call.
        let data = unsafe { &(*reg).data }.clone();
        if let Err(e) = data.open() {
            return e.to_errno();
        }
        // This changes the type of `private_data` from `miscdevice` to `Arc<T>` for the other
        // fops, which all use it as the latter.
        // SAFETY: `open` may set the private data of the file it opens.
        unsafe { (*file).private_data = data.into_foreign() };
        0
    }

    /// # Safety
    ///
    /// `file` is a file of a [`Registration<T>`] that [`Self::open`] opened, being released.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored an `Arc<T>` in `private_data`; `release` runs once per file,
        // after every other operation on it, so it may take that reference back.
        let data = unsafe { <Arc<T> as ForeignOwnable>::from_foreign((*file).private_data) };
        data.release();
        // `data` drops here: if it was the last reference (the registration is gone), `T` is
        // freed, while the module stays loaded until the VFS's `module_put()` after we return.
        0
    }

    /// # Safety
    ///
    /// `file` is an open file of a [`Registration<T>`]; `buf` and `count` are the arguments
    /// of `read()`.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `open` stored an `Arc<T>` in `private_data`, which `release` (not yet run
        // while a read is in progress: the caller holds a reference on the file) takes back.
        let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) };
        let buf = UserSlice::new(UserPtr::from_ptr(buf.cast()), count).writer();
        match data.read(buf) {
            // `Ok` values are at most `count`, which the VFS limits to `MAX_RW_COUNT`.
            Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is an open file of a [`Registration<T>`]; `buf` and `count` are the arguments
    /// of `write()`.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: As in `read`.
        let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) };
        let buf = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count).reader();
        match data.write(buf) {
            Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is an open file of a [`Registration<T>`]; `table` is NULL or a valid
    /// `poll_table` for the duration of the call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> c_uint {
        // SAFETY: As in `read`.
        let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) };
        let wait = PollWait {
            // SAFETY: The caller holds a reference on `file` for the call. `File` also claims
            // that no `fdget_pos()` skipped `f_pos_lock` on another thread, which a concurrent
            // `read()` of this char device may do; that only matters for `f_pos`, which
            // `PollWait` never touches: it only passes the file to `poll_wait()`, and keeps it
            // private and within this call.
            file: unsafe { File::from_raw_file(file) },
            // SAFETY: `table` is NULL or valid for the call, which `PollWait` does not outlive.
            table: unsafe { PollTable::from_raw(table) },
        };
        data.poll(&wait).bits()
    }

    const FOPS: bindings::file_operations = bindings::file_operations {
        owner: T::OWNER.as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        read: if T::HAS_READ { Some(Self::read) } else { None },
        write: if T::HAS_WRITE {
            Some(Self::write)
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        ..pin_init::zeroed()
    };

    /// Returns the `file_operations`: a static of the module that instantiates `VTable<T>`.
    const fn build() -> &'static bindings::file_operations {
        &Self::FOPS
    }
}
