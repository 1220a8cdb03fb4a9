// Maps an async stream with at most `inFlightMax` calls pending or finished-but-unconsumed, so
// a slow consumer stops the producer (backpressure) and memory stays bounded. With `ordered`
// results come out in input order; without, in completion order.

type Settled<U> = { i: number; ok: true; v: U } | { i: number; ok: false; e: unknown };

export async function* parallelMap<T, U>(
  input: AsyncIterable<T>,
  fn: (x: T, index: number) => Promise<U>,
  inFlightMax: number,
  ordered: boolean,
): AsyncGenerator<U> {
  const it = input[Symbol.asyncIterator]();
  const pending: { i: number; p: Promise<Settled<U>> }[] = [];
  let exhausted = false;
  let next = 0;
  try {
    for (;;) {
      while (!exhausted && pending.length < inFlightMax) {
        const r = await it.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        const i = next++;
        const p = fn(r.value, i).then(
          (v): Settled<U> => ({ i, ok: true, v }),
          (e): Settled<U> => ({ i, ok: false, e }),
        );
        pending.push({ i, p });
      }
      if (pending.length === 0) return;
      const s = ordered ? await pending[0].p : await Promise.race(pending.map((x) => x.p));
      pending.splice(pending.findIndex((x) => x.i === s.i), 1);
      if (!s.ok) throw s.e;
      yield s.v;
    }
  } finally {
    // Calls still pending settle into handled promises; the runner closes their executors.
    await it.return?.();
  }
}
