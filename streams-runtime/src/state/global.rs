//! Global stores: the stores of global tables, one per application instance, shared by every
//! stream thread (Java's `GlobalStateManager`). The global stream thread writes them from the
//! global topics; joins read them through [`GlobalKeyValueStore`]. Under the test driver, which
//! runs everything in one task, a global table's store is an ordinary store of that task and
//! the same handle reads it.

use super::key_value::{KvStoreInner, Layout};
use super::{Instance, StoreContext, StoreSpec, serde_error};
use crate::error::StoreError;
use crate::serde::Serde;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

/// One global store, shared between the threads of an instance (the Kafka runtime's global
/// thread opens and updates it).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub(crate) struct GlobalStore {
    pub(crate) index: usize,
    pub(crate) spec: &'static StoreSpec,
    inner: Arc<Mutex<KvStoreInner>>,
}

#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
impl GlobalStore {
    /// Opens the store at position `index` (`spec`) in the context of the global stores (their
    /// directory `state.dir/<app>/global`, no exactly-once buffering, no record cache, the
    /// instance's RocksDB settings).
    pub(crate) fn open(index: usize, spec: &'static StoreSpec, context: &StoreContext) -> Result<Self, StoreError> {
        Ok(GlobalStore {
            index,
            spec,
            inner: Arc::new(Mutex::new(KvStoreInner::open(index, spec, context)?)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, KvStoreInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a record of the global topic as a table source does: `None` deletes; the value
    /// is kept with the record's timestamp.
    pub(crate) fn apply(&self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
        self.lock().restore(key, value, timestamp)
    }

    /// Flushes the store to its backend.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.lock().flush()
    }
}

/// The global stores of an instance (none under the test driver).
#[derive(Debug, Clone, Default)]
pub struct GlobalStores(pub(crate) Arc<Vec<GlobalStore>>);

impl GlobalStores {
    pub(crate) fn get(&self, index: usize) -> Option<&GlobalStore> {
        self.0.iter().find(|s| s.index == index)
    }
}

#[derive(Debug, Clone)]
enum Shared {
    /// The instance's global store (the Kafka runtime).
    Global(Arc<Mutex<KvStoreInner>>),
    /// The task's own store (the test driver).
    Local(Rc<RefCell<KvStoreInner>>),
}

/// A read-only typed view of a global table's store, as joins read it.
pub struct GlobalKeyValueStore<K, V, KS, VS> {
    inner: Shared,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Default, VS: Default> GlobalKeyValueStore<K, V, KS, VS> {
    /// The view of the store at `index` of a task's stores: the instance's global store if there
    /// is one, else the task's own instance.
    pub(super) fn bind(globals: &GlobalStores, index: usize, local: &Instance) -> Option<Self> {
        let inner = match (globals.get(index), local) {
            (Some(global), _) => Shared::Global(Arc::clone(&global.inner)),
            (None, Instance::KeyValue(rc)) => Shared::Local(Rc::clone(rc)),
            (None, _) => return None,
        };
        Some(GlobalKeyValueStore {
            inner,
            key_serde: KS::default(),
            value_serde: VS::default(),
            types: PhantomData,
        })
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> GlobalKeyValueStore<K, V, KS, VS> {
    fn read<R>(&self, f: impl FnOnce(&mut KvStoreInner) -> R) -> R {
        match &self.inner {
            Shared::Global(m) => f(&mut m.lock().unwrap_or_else(|p| p.into_inner())),
            Shared::Local(rc) => f(&mut rc.borrow_mut()),
        }
    }

    /// The value for `key` with the timestamp kept with it.
    pub fn get_with_timestamp(&self, key: &K) -> Result<Option<(V, i64)>, StoreError> {
        self.read(|inner| {
            let name = inner.name();
            inner.key_buf.clear();
            self.key_serde
                .serialize(key, &mut inner.key_buf)
                .map_err(serde_error(name))?;
            let layout = inner.layout();
            inner.get_at_key_buf(|bytes| decode(&self.value_serde, layout, bytes))?
        })
    }

    /// The value for `key`.
    pub fn get(&self, key: &K) -> Result<Option<V>, StoreError> {
        Ok(self.get_with_timestamp(key)?.map(|(v, _)| v))
    }
}

fn decode<V, VS: Serde<V>>(serde: &VS, layout: Layout, bytes: Option<&[u8]>) -> Result<Option<(V, i64)>, StoreError> {
    let Some(stored) = bytes else { return Ok(None) };
    let (timestamp, bytes) = layout.split(stored)?;
    let value = serde.deserialize(Some(bytes)).map_err(serde_error(layout.store))?;
    Ok(Some((value, timestamp)))
}
