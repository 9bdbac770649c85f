//! The model thread of `halt-llm serve`: continuous batching of generation requests.
//!
//! One dedicated OS thread owns the model and a running batch. Each turn of its loop it
//! 1. admits the requests waiting in its queue (up to `max_batch` rows in all): their prompts
//!    are prefilled together, in one padded batch, and their cache rows joined to the running
//!    batch's ([`KvCache::join`]);
//! 2. samples one token for every row from that row's last logits, with the row's own
//!    settings (temperature, top-p, seed, stop strings, token budget), and sends the new text
//!    to the row's client;
//! 3. drops the rows that finished, and those whose client went away (its receiver was
//!    dropped: a closed stream frees its slot at the next step);
//! 4. runs one decode step for the rows left.
//!
//! So a request that arrives while others are decoding joins them at the next step, and a
//! finished one leaves without waiting for the rest. Rows are left-padded and masked
//! ([`crate::model::cache`]), so a request generates the same tokens alone or in a batch: the
//! answers equal `halt-llm generate`'s for the same seed.
//!
//! Text is sent in pieces of whole UTF-8 characters, holding back any tail that could be the
//! start of a stop string (a stop string is never sent, even in part); the HALT marker ends
//! generation but is kept in the text.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use anyhow::Result;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedSender;

use super::row::{Row, step};
use crate::generate::{FinishReason, SamplingConfig, forward_tokens, prefill, sample_token};
use crate::model::{KvCache, Llama};
use crate::tokenizer::Tokenizer;

/// One completion to generate (one choice of a request).
#[derive(Debug)]
pub struct Job {
    /// The prompt's token ids (chat template applied).
    pub prompt: Vec<u32>,
    /// Token budget, temperature, top-p, seed and stop strings of this choice.
    pub sampling: SamplingConfig,
    /// The abstention marker: generation ends once the text contains it (it is kept).
    pub marker: Option<String>,
    /// The choice's index in its request (sent with every event).
    pub index: usize,
    /// Where the text and the end go (shared by the choices of one request); dropping the
    /// receiver cancels the job.
    pub events: UnboundedSender<(usize, Event)>,
}

/// What the model thread sends back for a [`Job`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// More text (whole characters; never part of a stop string).
    Text(String),
    /// The end: why, and the tokens used.
    Done {
        /// Why generation ended ([`FinishReason::StopString`] also for the marker).
        finish: FinishReason,
        /// Prompt tokens.
        prompt_tokens: usize,
        /// Generated tokens (a final end-of-turn token included).
        completion_tokens: usize,
    },
    /// Generation failed (the message is safe to show to the client).
    Failed(String),
}

/// The client side of the model thread: submits jobs, refuses them when the queue is full.
#[derive(Debug, Clone)]
pub struct Engine {
    jobs: Sender<Job>,
    /// Jobs submitted and not yet finished (queued or decoding).
    load: Arc<AtomicUsize>,
    /// Jobs dropped because their client went away.
    cancelled: Arc<AtomicUsize>,
    /// Most jobs admitted at once: the batch plus the queue.
    capacity: usize,
}

/// Why a job was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The batch and the queue are full (HTTP 429).
    Busy,
    /// The model thread has stopped (HTTP 503).
    Stopped,
}

impl Engine {
    /// Starts the model thread with `model` and `tokenizer` on `device`, decoding at most
    /// `max_batch` rows at once with up to `max_queue` more jobs waiting.
    pub fn start(
        model: Llama,
        tokenizer: Tokenizer,
        device: Device,
        max_batch: usize,
        max_queue: usize,
    ) -> Engine {
        let (jobs, rx) = std::sync::mpsc::channel();
        let load = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicUsize::new(0));
        let counters = (load.clone(), cancelled.clone());
        std::thread::Builder::new()
            .name("halt-llm-model".into())
            .spawn(move || {
                // This thread runs the decode steps: their parallel loops run with it as a
                // worker instead of putting it to sleep (see `threads`). Without a pool of
                // its own (threads that cannot start) it uses the global one.
                let _pool = crate::threads::pool_of_its_own();
                let _host_weights = crate::model::decode_weights::install(&device);
                let mut batch = Batch::new(&model, &tokenizer, &device, max_batch.max(1), counters);
                batch.run(&rx);
            })
            .expect("the model thread starts");
        Engine {
            jobs,
            load,
            cancelled,
            capacity: max_batch.max(1) + max_queue,
        }
    }

    /// Queues `jobs` (all the choices of one request) together, or none of them.
    ///
    /// # Errors
    /// [`Refused::Busy`] when they do not fit in the batch and the queue;
    /// [`Refused::Stopped`] when the model thread has ended.
    pub fn submit(&self, jobs: Vec<Job>) -> Result<(), Refused> {
        let n = jobs.len();
        let admitted = self
            .load
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                (l + n <= self.capacity).then_some(l + n)
            });
        if admitted.is_err() {
            return Err(Refused::Busy);
        }
        for job in jobs {
            if self.jobs.send(job).is_err() {
                return Err(Refused::Stopped);
            }
        }
        Ok(())
    }

    /// Jobs queued or decoding.
    pub fn load(&self) -> usize {
        self.load.load(Ordering::SeqCst)
    }

    /// Jobs dropped so far because their client went away.
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The running batch and its cache (the model thread's state).
struct Batch<'a> {
    model: &'a Llama,
    tokenizer: &'a Tokenizer,
    device: &'a Device,
    max_batch: usize,
    load: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    rows: Vec<Row<'a>>,
    cache: KvCache,
    /// Last logits of every row, `[rows · vocab_size]`.
    logits: Vec<f32>,
}

impl<'a> Batch<'a> {
    fn new(
        model: &'a Llama,
        tokenizer: &'a Tokenizer,
        device: &'a Device,
        max_batch: usize,
        (load, cancelled): (Arc<AtomicUsize>, Arc<AtomicUsize>),
    ) -> Self {
        Self {
            model,
            tokenizer,
            device,
            max_batch,
            load,
            cancelled,
            rows: Vec::new(),
            cache: KvCache::new(model.layers.len()),
            logits: Vec::new(),
        }
    }

    /// The loop of the model thread; returns when every [`Engine`] is dropped and the batch
    /// is empty.
    fn run(&mut self, rx: &Receiver<Job>) {
        loop {
            // 1. Admit: block for work when idle, else take what is waiting.
            let mut new = Vec::new();
            if self.rows.is_empty() {
                match rx.recv() {
                    Ok(job) => new.push(job),
                    Err(_) => return,
                }
            }
            while self.rows.len() + new.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(job) => new.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            new.retain(|j| !j.events.is_closed() || self.cancel_job());
            if !new.is_empty() {
                self.admit(new);
            }
            if self.rows.is_empty() {
                continue;
            }
            // 2–3. Sample a token per row; drop finished and abandoned rows.
            let next = self.sample();
            // 4. One decode step for the rows left.
            if self.rows.is_empty() {
                self.cache = KvCache::new(self.model.layers.len());
                self.logits.clear();
                continue;
            }
            match forward_tokens(self.model, next, &mut self.cache, self.device) {
                Ok(l) => self.logits = l,
                Err(e) => self.fail_all(&format!("decoding: {e:#}")),
            }
        }
    }

    /// Counts one job as finished (for the queue bound); returns `false` (for `retain`).
    fn finish_job(&self) -> bool {
        self.load.fetch_sub(1, Ordering::SeqCst);
        false
    }

    /// Counts one job as finished because its client went away; returns `false`.
    fn cancel_job(&self) -> bool {
        self.cancelled.fetch_add(1, Ordering::SeqCst);
        self.finish_job()
    }

    /// Step 1: prefills the prompts of `jobs` in one batch and joins their rows to the batch.
    fn admit(&mut self, jobs: Vec<Job>) {
        let prompts: Vec<Vec<u32>> = jobs.iter().map(|j| j.prompt.clone()).collect();
        let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let budget = jobs
            .iter()
            .map(|j| j.sampling.max_new_tokens)
            .max()
            .unwrap_or(0);
        match prefill(self.model, &prompts, longest, budget, self.device) {
            Ok((cache, logits)) => {
                let running = std::mem::take(&mut self.cache);
                self.cache = running.join(cache, budget.max(1));
                self.logits.extend(logits);
                for job in jobs {
                    self.rows.push(Row {
                        rng: StdRng::seed_from_u64(job.sampling.seed),
                        stream: self.tokenizer.decode_stream(true),
                        text: String::new(),
                        sent: 0,
                        generated: 0,
                        job,
                    });
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job
                        .events
                        .send((job.index, Event::Failed(format!("prefill: {e:#}"))));
                    self.finish_job();
                }
            }
        }
    }

    /// Steps 2–3: one token per row; returns the tokens to feed for the rows that go on
    /// (the finished and abandoned rows are dropped from the batch and the cache).
    fn sample(&mut self) -> Vec<i64> {
        let vocab = self.logits.len() / self.rows.len();
        let mut keep = Vec::with_capacity(self.rows.len());
        let mut next = Vec::with_capacity(self.rows.len());
        for (i, row) in self.rows.iter_mut().enumerate() {
            if row.job.events.is_closed() {
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let logits = &self.logits[i * vocab..(i + 1) * vocab];
            let tok = sample_token(logits, &row.job.sampling, &mut row.rng);
            row.generated += 1;
            match step(row, tok, self.tokenizer) {
                Ok(None) => {
                    keep.push(i);
                    next.push(tok as i64);
                }
                Ok(Some(finish)) => {
                    let _ = row.job.events.send((
                        row.job.index,
                        Event::Done {
                            finish,
                            prompt_tokens: row.job.prompt.len(),
                            completion_tokens: row.generated,
                        },
                    ));
                }
                Err(e) => {
                    let _ = (row.job.events)
                        .send((row.job.index, Event::Failed(format!("decoding: {e:#}"))));
                }
            }
        }
        if keep.len() < self.rows.len() {
            let gone = self.rows.len() - keep.len();
            for _ in 0..gone {
                self.finish_job();
            }
            let mut rows = std::mem::take(&mut self.rows);
            let mut kept = Vec::with_capacity(keep.len());
            for (i, row) in rows.drain(..).enumerate() {
                if keep.contains(&i) {
                    kept.push(row);
                }
            }
            self.rows = kept;
            self.cache.select_rows(&keep);
            self.cache.trim_leading_padding();
        }
        next
    }

    /// Ends every row with `message` (after a failed decode step) and empties the batch.
    fn fail_all(&mut self, message: &str) {
        for row in self.rows.drain(..) {
            let _ = (row.job.events).send((row.job.index, Event::Failed(message.to_string())));
            self.load.fetch_sub(1, Ordering::SeqCst);
        }
        self.cache = KvCache::new(self.model.layers.len());
        self.logits.clear();
    }
}
