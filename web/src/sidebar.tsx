// The sidebar's histograms of rating and tags over the filtered rows; clicking a bar filters
// the grid to it (clicking the picked bar again clears that facet).

import { useEffect, useState } from 'preact/hooks';
import { api, type Row } from './api';
import type { Where } from './card';
import { ratingHistogramSql, tagHistogramSql, type Roles, type Sql } from './sql';

const tagBarsMax = 20;

interface Bar {
  value: unknown;
  n: number;
}

function Histogram(props: { name: string; title: string; bars: Bar[]; picked: unknown; label: (v: unknown) => string; onPick: (v: unknown) => void }) {
  const max = Math.max(1, ...props.bars.map((b) => b.n));
  return (
    <section class="histogram" data-hist={props.name}>
      <h3>{props.title}</h3>
      {props.bars.length === 0 && <div class="empty">no values</div>}
      {props.bars.map((b) => (
        <button
          class={b.value === props.picked ? 'bar picked' : 'bar'}
          data-value={b.value === null ? 'null' : String(b.value)}
          data-count={String(b.n)}
          onClick={() => props.onPick(b.value)}
          title={`${props.label(b.value)}: ${b.n} rows`}
        >
          <span class="label">{props.label(b.value)}</span>
          <span class="fill" style={{ width: `${(100 * b.n) / max}%` }} />
          <span class="n">{b.n}</span>
        </button>
      ))}
    </section>
  );
}

const bars = (rows: Row[]): Bar[] => rows.map((r) => ({ value: r.value ?? null, n: Number(r.n) }));

export function Sidebar(props: Where & { epoch: string; roles: Roles; where: Sql; rating?: number | null; tag?: string; onRating: (v: number | null | undefined) => void; onTag: (v: string | undefined) => void; onError: (e: unknown) => void }) {
  const [ratings, setRatings] = useState<Bar[]>([]);
  const [tags, setTags] = useState<Bar[]>([]);
  const { rating, tags: tagCol } = props.roles;
  const key = `${props.dataset}|${props.at.kind}:${props.at.name}|${props.epoch}|${props.where.sql}|${JSON.stringify(props.where.params)}`;
  useEffect(() => {
    let live = true;
    if (rating) {
      const q = ratingHistogramSql(props.where, rating);
      api.query(props.dataset, props.at, q.sql, q.params).then((r) => live && setRatings(bars(r)), props.onError);
    }
    if (tagCol) {
      const q = tagHistogramSql(props.where, tagCol, tagBarsMax);
      api.query(props.dataset, props.at, q.sql, q.params).then((r) => live && setTags(bars(r)), props.onError);
    }
    return () => {
      live = false;
    };
  }, [key]);
  return (
    <aside class="sidebar">
      {rating && (
        <Histogram
          name="rating"
          title={rating}
          bars={ratings}
          picked={props.rating}
          label={(v) => (v === null ? 'none' : String(v))}
          onPick={(v) => props.onRating(v === props.rating ? undefined : (v as number | null))}
        />
      )}
      {tagCol && <Histogram name="tags" title={tagCol} bars={tags} picked={props.tag} label={String} onPick={(v) => props.onTag(v === props.tag ? undefined : String(v))} />}
    </aside>
  );
}
