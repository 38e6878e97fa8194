//! Streaming bulk bodies into the engine: a body is decoded on a blocking thread and each entry goes
//! to the writer, in batches, as soon as it is decoded, so decoding overlaps execution. Shared by
//! `/v1/bulk` and the vendor dialects' bulk endpoints; each brings its own framing and entries.

use crate::State;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor,
};
use sluice_engine::model::{self, Answer, IdemKey};
use sluice_engine::ops::{too_many, BulkItem, BulkMsg, Output};
use sluice_engine::{Error, ErrorCode, Result};
use std::fmt;
use std::marker::PhantomData;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

/// Items per message to the writer: fewer wake-ups than one per item, little latency.
const BATCH: usize = 50;

/// Where decoded entries go: to the writer, with a label each for rendering its result.
pub struct Feed<L> {
    tx: Sender<BulkMsg>,
    pending: Vec<BulkItem>,
    /// Shared with the writer, which renders a keyed request's answer from them.
    labels: Arc<Mutex<Vec<L>>>,
    max: usize,
    /// Why decoding stopped early, when it was not the body's fault.
    stop: Option<Error>,
    pub rt: tokio::runtime::Handle,
    pub state: State,
    /// Who the entries run as (once each, in a row), when reads may go to replicas: each must
    /// read what the request wrote.
    callers: Option<Vec<model::Principal>>,
}

impl<L> Feed<L> {
    /// Queues one entry; `Err` stops decoding (the limit is reached, or the writer is gone).
    pub fn push(&mut self, label: L, item: BulkItem) -> std::result::Result<(), ()> {
        {
            let mut labels = lock(&self.labels);
            if labels.len() == self.max {
                self.stop = Some(too_many(self.max));
                return Err(());
            }
            labels.push(label);
        }
        if let (Some(callers), Ok(who)) = (&mut self.callers, &item.who) {
            if callers.last() != Some(who) {
                callers.push(who.clone());
            }
        }
        self.pending.push(item);
        if self.pending.len() == BATCH {
            return self.flush();
        }
        Ok(())
    }

    /// Decoding stops for `reason` (the request's own error, rather than the JSON's).
    pub fn stop_with(&mut self, reason: Error) {
        self.stop = Some(reason);
    }

    /// The request is atomic: the writer can stop at the first failure.
    pub fn atomic(&mut self) {
        let _ = self.flush();
        sluice_engine::counters::handoff();
        let _ = self.tx.send(BulkMsg::Atomic);
    }

    pub fn len(&self) -> usize {
        lock(&self.labels).len()
    }

    fn flush(&mut self) -> std::result::Result<(), ()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.pending);
        sluice_engine::counters::handoff();
        self.tx.send(BulkMsg::Items(items)).map_err(|_| ())
    }
}

/// Maps a decoding failure to the request's error: the feed's own reason first, then the JSON's.
fn decode_error(e: serde_json::Error, stop: Option<Error>, what: &str) -> Error {
    stop.unwrap_or_else(|| match e.classify() {
        serde_json::error::Category::Data => Error::invalid(format!("invalid {what}: {e}")),
        _ => Error::new(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        ),
    })
}

fn lock<L>(m: &Mutex<Vec<L>>) -> MutexGuard<'_, Vec<L>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How a body is decoded into a feed: returns whether the request is atomic.
pub trait Decode<L>:
    FnOnce(
        &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
        &mut Feed<L>,
    ) -> serde_json::Result<bool>
    + Send
    + 'static
{
}

impl<L, F> Decode<L> for F where
    F: FnOnce(
            &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
            &mut Feed<L>,
        ) -> serde_json::Result<bool>
        + Send
        + 'static
{
}

/// The decoding thread: it ends with the callers its entries run as (see `Feed::callers`).
type Producer = tokio::task::JoinHandle<Vec<model::Principal>>;

/// Starts decoding `bytes` into a feed on a blocking thread; the receiver for the engine, the
/// labels as they come, and the producer to await.
fn start<L: Send + 'static>(
    state: &State,
    bytes: axum::body::Bytes,
    what: &'static str,
    decode: impl Decode<L>,
) -> (
    std::sync::mpsc::Receiver<BulkMsg>,
    Arc<Mutex<Vec<L>>>,
    Producer,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let labels = Arc::new(Mutex::new(Vec::new()));
    let mut feed = Feed {
        tx,
        pending: Vec::new(),
        labels: labels.clone(),
        max: state.engine.settings().max_bulk_ops,
        stop: None,
        rt: tokio::runtime::Handle::current(),
        state: state.clone(),
        callers: state.engine.reads_replicas().then(Vec::new),
    };
    sluice_engine::counters::handoff();
    let producer = tokio::task::spawn_blocking(move || {
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let decoded = decode(&mut de, &mut feed).and_then(|atomic| de.end().map(|()| atomic));
        let stop = feed.stop.take();
        let end = match decoded {
            Ok(atomic) => stop.map_or(Ok(atomic), Err),
            Err(e) => Err(decode_error(e, stop, what)),
        };
        let _ = feed.flush();
        sluice_engine::counters::handoff();
        let _ = feed.tx.send(BulkMsg::End(end));
        // The producer's end, which the request awaits.
        sluice_engine::counters::handoff();
        feed.callers.take().unwrap_or_default()
    });
    (rx, labels, producer)
}

/// Runs `decode` over `bytes` on a blocking thread while the engine executes what it feeds.
/// `decode` returns whether the request is atomic. Returns each entry's label and result.
pub async fn run<L: Send + 'static>(
    state: &State,
    bytes: axum::body::Bytes,
    what: &'static str,
    decode: impl Decode<L>,
) -> Result<Vec<(L, Result<Output>)>> {
    let (rx, labels, producer) = start(state, bytes, what, decode);
    let results = state.engine.bulk_stream(rx).await;
    wrote(state, producer.await.map_err(Error::internal)?);
    let labels = std::mem::take(&mut *lock(&labels));
    Ok(labels.into_iter().zip(results?).collect())
}

/// `run` once for idempotency `key`: `render` makes the answer from each entry's label and
/// result, in the writer, so it is kept with the work.
pub async fn run_keyed<L: Send + 'static>(
    state: &State,
    bytes: axum::body::Bytes,
    what: &'static str,
    decode: impl Decode<L>,
    key: IdemKey,
    render: impl Fn(&[L], Vec<Result<Output>>) -> Answer + Send + 'static,
) -> Result<model::Keyed> {
    let (rx, labels, producer) = start(state, bytes, what, decode);
    let shared = labels.clone();
    // The writer renders once the request's end has arrived, so every label is in.
    let keyed = state
        .engine
        .bulk_stream_keyed(rx, key, move |results| render(&lock(&shared), results))
        .await;
    wrote(state, producer.await.map_err(Error::internal)?);
    keyed
}

/// Notes that a bulk request's callers wrote: their next reads see its work.
fn wrote(state: &State, callers: Vec<model::Principal>) {
    for who in &callers {
        state.engine.wrote(who);
    }
}

/// Decodes a JSON array, handing each element to `each`; `Err(())` from `each` stops decoding.
pub struct Elements<T, F>(pub F, pub PhantomData<T>);

impl<'de, T: DeserializeOwned, F: FnMut(T) -> std::result::Result<(), ()>> DeserializeSeed<'de>
    for Elements<T, F>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T) -> std::result::Result<(), ()>> Visitor<'de>
    for Elements<T, F>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            if (self.0)(item).is_err() {
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Decodes an object: the array under `key` goes element by element to `each`; `on_key` takes every
/// other key and its value (returning `false` refuses the key). Returns whether `key` was present.
pub struct Keyed<'k, T, F, K> {
    pub key: &'k str,
    pub each: F,
    pub on_key: K,
    pub _t: PhantomData<T>,
}

impl<'de, T, F, K> DeserializeSeed<'de> for Keyed<'_, T, F, K>
where
    T: DeserializeOwned,
    F: FnMut(T) -> std::result::Result<(), ()>,
    K: FnMut(&str, serde_json::Value) -> bool,
{
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, F, K> Visitor<'de> for Keyed<'_, T, F, K>
where
    T: DeserializeOwned,
    F: FnMut(T) -> std::result::Result<(), ()>,
    K: FnMut(&str, serde_json::Value) -> bool,
{
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with {:?}", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<bool, A::Error> {
        let mut seen = false;
        let mut each = Some(self.each);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.key {
                let f = each
                    .take()
                    .ok_or_else(|| A::Error::duplicate_field("array"))?;
                map.next_value_seed(Elements(f, PhantomData::<T>))?;
                seen = true;
                continue;
            }
            let value = map.next_value::<serde_json::Value>()?;
            if !(self.on_key)(&key, value) {
                return Err(A::Error::custom(format_args!("unknown field `{key}`")));
            }
        }
        Ok(seen)
    }
}
