//! halt-llm patch: element-wise loops split across rayon's threads.
//!
//! The published crate runs its element-wise operations (unary functions, operations with a
//! scalar, same-shape binary operations) on the calling thread only; on a CPU with few cores a
//! training step spends a large share of its time in them while the other cores wait. Here a
//! loop over at least [`MIN_PARALLEL`] elements is split into chunks of [`CHUNK`] elements run
//! in parallel. Each element is computed by the same operation as before, so results are
//! unchanged bit for bit.

/// Loops over fewer elements stay on the calling thread (a parallel split costs more).
pub(crate) const MIN_PARALLEL: usize = 1 << 16;

/// Elements per parallel task.
pub(crate) const CHUNK: usize = 1 << 14;

/// `f` over `dst` in chunks, in parallel when `dst` is long enough.
pub(crate) fn chunks_mut<E: Send>(dst: &mut [E], f: impl Fn(&mut [E]) + Sync + Send) {
    #[cfg(feature = "rayon")]
    if dst.len() >= MIN_PARALLEL {
        use rayon::prelude::*;
        dst.par_chunks_mut(CHUNK).for_each(f);
        return;
    }
    f(dst)
}

/// `f` over matching chunks of `dst` and `src` (the same length), in parallel when long
/// enough.
pub(crate) fn zip_chunks_mut<E: Send, F: Sync>(
    dst: &mut [E],
    src: &[F],
    f: impl Fn(&mut [E], &[F]) + Sync + Send,
) {
    debug_assert_eq!(dst.len(), src.len());
    #[cfg(feature = "rayon")]
    if dst.len() >= MIN_PARALLEL {
        use rayon::prelude::*;
        dst.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(d, s)| f(d, s));
        return;
    }
    f(dst, src)
}

/// `src.map(f)` collected in order, in parallel when long enough.
pub(crate) fn map_collect<E: Sync, R: Send>(
    src: &[E],
    f: impl Fn(&E) -> R + Sync + Send,
) -> alloc::vec::Vec<R> {
    #[cfg(feature = "rayon")]
    if src.len() >= MIN_PARALLEL {
        use rayon::prelude::*;
        return src.par_iter().map(f).collect();
    }
    src.iter().map(f).collect()
}
