// A row as a card (thumbnail, prompt, rating, tags) and the thumbnail itself. Thumbnails are
// fetched with the token and kept as object URLs, at most `thumbsMax`, the oldest revoked first.

import { useEffect, useState } from 'preact/hooks';
import { api, type Ref, type Row } from './api';
import type { Roles } from './sql';

const thumbsMax = 2000;
const thumbs = new Map<string, Promise<string>>();

function thumbUrl(dataset: string, ref: Ref, rowId: string, column: string, width: number): Promise<string> {
  const key = `${dataset}\n${ref.kind}:${ref.name}\n${rowId}\n${column}\n${width}`;
  let p = thumbs.get(key);
  if (!p) {
    p = api.image(dataset, ref, rowId, column, width);
    p.catch(() => thumbs.delete(key));
    thumbs.set(key, p);
    if (thumbs.size > thumbsMax) {
      const [oldest, url] = thumbs.entries().next().value!;
      thumbs.delete(oldest);
      void url.then(URL.revokeObjectURL, () => {});
    }
  }
  return p;
}

export interface Where {
  dataset: string;
  at: Ref;
}

export function Thumb(props: Where & { rowId: string; column?: string; width: number; alt: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setSrc(null);
    setFailed(false);
    if (!props.column) return;
    thumbUrl(props.dataset, props.at, props.rowId, props.column, props.width).then(
      (u) => live && setSrc(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [props.dataset, props.at.kind, props.at.name, props.rowId, props.column, props.width]);
  if (src) return <img class="thumb" src={src} alt={props.alt} data-row={props.rowId} />;
  return <div class={failed ? 'thumb missing' : 'thumb loading'}>{failed ? 'no image' : ''}</div>;
}

export function Stars({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="stars none">unrated</span>;
  const n = Math.max(0, Math.min(5, Math.round(Number(value))));
  return (
    <span class="stars" title={`rating ${String(value)}`} data-rating={String(value)}>
      {'★'.repeat(n)}
      <span class="dim">{'★'.repeat(5 - n)}</span>
    </span>
  );
}

export function Card(props: Where & { row: Row; roles: Roles; width: number; onOpen: (rowId: string) => void; extra?: string }) {
  const { row, roles } = props;
  const id = String(row.row_id);
  const prompt = roles.prompt ? String(row[roles.prompt] ?? '') : '';
  const tags = roles.tags && Array.isArray(row[roles.tags]) ? (row[roles.tags] as string[]) : [];
  return (
    <div class="card" data-row={id} onClick={() => props.onOpen(id)} title={prompt}>
      <Thumb dataset={props.dataset} at={props.at} rowId={id} column={roles.image} width={props.width} alt={prompt} />
      <div class="prompt">{prompt}</div>
      <div class="meta">
        {roles.rating && <Stars value={row[roles.rating]} />}
        <span class="rowid">#{id}</span>
        {props.extra && <span class="extra">{props.extra}</span>}
      </div>
      <div class="tags">
        {tags.map((t) => (
          <span class="tag">{t}</span>
        ))}
      </div>
    </div>
  );
}
