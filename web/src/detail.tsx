// A row in detail (a drawer): its image, thumbs and rating feedback (written to the branch with
// the session's token), its nearest neighbours by the image embedding, its regeneration parent
// and children, and every small column.

import { useEffect, useState } from 'preact/hooks';
import { api, type Row } from './api';
import { Card, Thumb, type Where } from './card';
import { cardSql, childrenSql, neighboursSql, rowSql, vectorSql, type Roles } from './sql';

const neighboursK = 8;
const childrenMax = 24;
const ratingMax = 5;

function show(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

interface Related {
  row: Row | null;
  neighbours: Row[];
  parent: Row | null;
  children: Row[];
}

async function related(w: Where, rowId: string, roles: Roles): Promise<Related> {
  const [row = null] = await api.query(w.dataset, w.at, rowSql(rowId, roles));
  let neighbours: Row[] = [];
  if (roles.embedding) {
    const [vec] = await api.query(w.dataset, w.at, vectorSql(rowId, roles.embedding));
    if (Array.isArray(vec?.v)) neighbours = await api.query(w.dataset, w.at, neighboursSql(rowId, roles, neighboursK), [vec.v]);
  }
  const parentId = roles.parent && row ? row[roles.parent] : null;
  const parent = parentId !== null && parentId !== undefined ? ((await api.query(w.dataset, w.at, cardSql(String(parentId), roles)))[0] ?? null) : null;
  const children = roles.parent ? await api.query(w.dataset, w.at, childrenSql(rowId, roles, childrenMax)) : [];
  return { row, neighbours, parent, children };
}

export function Detail(props: Where & { rowId: string | null; roles: Roles; writable: boolean; onOpen: (rowId: string) => void; onClose: () => void; onChanged: () => void; onError: (e: unknown) => void }) {
  const [rel, setRel] = useState<Related | null>(null);
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);
  const { rowId, roles } = props;
  useEffect(() => {
    let live = true;
    setRel(null);
    if (rowId) related(props, rowId, roles).then((r) => live && setRel(r), props.onError);
    return () => {
      live = false;
    };
  }, [rowId, props.dataset, props.at.kind, props.at.name, reload]);

  const rate = async (value: number) => {
    if (!rowId || !roles.rating) return;
    setBusy(true);
    try {
      await api.feedback(props.dataset, props.at.name, rowId, { [roles.rating]: value });
      setReload((n) => n + 1);
      props.onChanged();
    } catch (e) {
      props.onError(e);
    } finally {
      setBusy(false);
    }
  };
  const current = rel?.row && roles.rating ? Number(rel.row[roles.rating] ?? 0) : 0;
  const cards = (rows: Row[], extra?: (r: Row) => string) =>
    rows.map((r) => <Card key={String(r.row_id)} dataset={props.dataset} at={props.at} row={r} roles={roles} width={140} onOpen={props.onOpen} extra={extra?.(r)} />);

  return (
    <sl-drawer label={rowId ? `Row ${rowId}` : 'Row'} open={rowId !== null} onsl-after-hide={(e: Event) => e.target === e.currentTarget && props.onClose()} style={{ '--size': 'min(920px, 92vw)' }} data-testid="detail">
      {rowId && (
        <div class="detail">
          <div class="detail-top">
            <Thumb dataset={props.dataset} at={props.at} rowId={rowId} column={roles.image} width={480} alt={`row ${rowId}`} />
            <div class="feedback">
              {roles.prompt && rel?.row && <p class="detail-prompt">{String(rel.row[roles.prompt] ?? '')}</p>}
              {roles.rating && (
                <div class="rating-controls" data-testid="feedback">
                  <span class="current-rating" data-testid="current-rating">
                    {roles.rating}: {rel?.row ? show(rel.row[roles.rating]) : '…'}
                  </span>
                  <sl-button size="small" data-testid="thumbs-up" disabled={!props.writable || busy || !rel} onClick={() => rate(ratingMax)} title="thumbs up: rating 5">
                    ▲ Good
                  </sl-button>
                  <sl-button size="small" data-testid="thumbs-down" disabled={!props.writable || busy || !rel} onClick={() => rate(1)} title="thumbs down: rating 1">
                    ▼ Bad
                  </sl-button>
                  <sl-rating
                    data-testid="rating"
                    max={ratingMax}
                    value={current}
                    disabled={!props.writable || busy || !rel}
                    onsl-change={(e: Event) => rate(Number((e.target as HTMLInputElement).value))}
                  />
                  {!props.writable && <div class="hint">Feedback needs a write token (Token, top right) and a branch, not a tag or version.</div>}
                </div>
              )}
            </div>
          </div>
          <h3>Nearest neighbours{roles.embedding ? ` by ${roles.embedding}` : ''}</h3>
          <div class="cards" data-testid="neighbours">
            {!roles.embedding && <div class="empty">no embedding column</div>}
            {rel ? cards(rel.neighbours, (r) => `sim ${Number(r.similarity).toFixed(3)}`) : <sl-spinner />}
          </div>
          {roles.parent && (
            <>
              <h3>Parent</h3>
              <div class="cards" data-testid="parent">
                {rel ? (rel.parent ? cards([rel.parent]) : <div class="empty">no parent</div>) : <sl-spinner />}
              </div>
              <h3>Children</h3>
              <div class="cards" data-testid="children">
                {rel ? (rel.children.length ? cards(rel.children) : <div class="empty">no children</div>) : <sl-spinner />}
              </div>
            </>
          )}
          <h3>Columns</h3>
          <table class="columns" data-testid="columns">
            <tbody>
              {rel?.row &&
                Object.entries(rel.row).map(([k, v]) => (
                  <tr>
                    <th>{k}</th>
                    <td>{show(v)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </sl-drawer>
  );
}
