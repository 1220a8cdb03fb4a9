// The version switcher (branches, tags, recent versions), the commit log of the version shown,
// and the diff view between two versions (counts, schema changes and the changed rows).

import { useEffect, useState } from 'preact/hooks';
import { api, type Commit, type Diff, type Ref } from './api';

const short = (id: string) => id.slice(0, 10);
const refValue = (r: Ref) => `${r.kind}:${r.name}`;
export function refOf(value: string): Ref {
  const i = value.indexOf(':');
  return { kind: value.slice(0, i) as Ref['kind'], name: value.slice(i + 1) };
}

export interface Refs {
  branches: { name: string; commit: string }[];
  tags: { name: string; commit: string }[];
}

/** Options for a version picker: branches, tags, then the given commits. */
function RefOptions({ refs, commits }: { refs: Refs; commits: Commit[] }) {
  return (
    <>
      <small>Branches</small>
      {refs.branches.map((b) => (
        <sl-option value={refValue({ kind: 'branch', name: b.name })}>⎇ {b.name}</sl-option>
      ))}
      {refs.tags.length > 0 && <small>Tags</small>}
      {refs.tags.map((t) => (
        <sl-option value={refValue({ kind: 'tag', name: t.name })}>🏷 {t.name}</sl-option>
      ))}
      {commits.length > 0 && <small>Versions</small>}
      {commits.map((c) => (
        <sl-option value={refValue({ kind: 'version', name: c.id })}>
          {short(c.id)} {c.message.slice(0, 40)}
        </sl-option>
      ))}
    </>
  );
}

/** `refs` with the branch or tag shown added when missing (a tenant token may not list refs). */
function withShown(refs: Refs, at: Ref): Refs {
  if (at.kind === 'version') return refs;
  const list = at.kind === 'branch' ? refs.branches : refs.tags;
  if (list.some((r) => r.name === at.name)) return refs;
  const added = [{ name: at.name, commit: '' }, ...list];
  return at.kind === 'branch' ? { ...refs, branches: added } : { ...refs, tags: added };
}

export function VersionSwitcher(props: { refs: Refs; commits: Commit[]; at: Ref; onPick: (r: Ref) => void }) {
  const refs = withShown(props.refs, props.at);
  return (
    <sl-select
      size="small"
      label="Version"
      class="version-switcher"
      data-testid="version"
      value={refValue(props.at)}
      hoist
      onsl-change={(e: Event) => props.onPick(refOf((e.target as HTMLSelectElement).value))}
    >
      <RefOptions refs={refs} commits={props.commits} />
    </sl-select>
  );
}

export function Log(props: { commits: Commit[]; onDiff: (from: string, to: string) => void }) {
  return (
    <table class="log" data-testid="log">
      <thead>
        <tr>
          <th>version</th>
          <th>time</th>
          <th>operation</th>
          <th>message</th>
          <th>author</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.commits.map((c) => (
          <tr data-commit={c.id}>
            <td class="mono">{short(c.id)}</td>
            <td>{new Date(c.time).toLocaleString()}</td>
            <td>{c.operation}</td>
            <td>{c.message}</td>
            <td>{String(c.meta?.author ?? '')}</td>
            <td>
              {c.parents[0] && (
                <sl-button size="small" onClick={() => props.onDiff(refValue({ kind: 'version', name: c.parents[0] }), refValue({ kind: 'version', name: c.id }))}>
                  diff with parent
                </sl-button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const cell = (v: unknown) => (v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function DiffView(props: { dataset: string; refs: Refs; commits: Commit[]; from: string; to: string; onPick: (from: string, to: string) => void; onError: (e: unknown) => void }) {
  const [diff, setDiff] = useState<Diff | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    setDiff(null);
    if (!props.from || !props.to) return;
    setBusy(true);
    api
      .diff(props.dataset, refOf(props.from).name, refOf(props.to).name)
      .then((d) => live && setDiff(d), props.onError)
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [props.dataset, props.from, props.to]);
  return (
    <div class="diff" data-testid="diff">
      <div class="diff-pickers">
        <sl-select size="small" label="From" data-testid="diff-from" value={props.from} hoist onsl-change={(e: Event) => props.onPick((e.target as HTMLSelectElement).value, props.to)}>
          <RefOptions refs={props.refs} commits={props.commits} />
        </sl-select>
        <sl-select size="small" label="To" data-testid="diff-to" value={props.to} hoist onsl-change={(e: Event) => props.onPick(props.from, (e.target as HTMLSelectElement).value)}>
          <RefOptions refs={props.refs} commits={props.commits} />
        </sl-select>
        {busy && <sl-spinner />}
      </div>
      {diff && (
        <>
          <p class="diff-counts" data-testid="diff-counts" data-added={diff.counts.added} data-removed={diff.counts.removed} data-changed={diff.counts.changed}>
            <span class="added">+{diff.counts.added} added</span> <span class="removed">−{diff.counts.removed} removed</span> <span class="changed">~{diff.counts.changed} changed</span>
            {diff.schema.added.length + diff.schema.dropped.length + diff.schema.changed.length > 0 &&
              ` · columns added [${diff.schema.added.join(', ')}], dropped [${diff.schema.dropped.join(', ')}], changed [${diff.schema.changed.join(', ')}]`}
          </p>
          <table class="diff-rows">
            <thead>
              <tr>
                <th>row</th>
                <th>change</th>
                <th>values</th>
              </tr>
            </thead>
            <tbody>
              {diff.rows.map((r) => (
                <tr class={`change-${r.change}`} data-row={r.rowId} data-change={r.change}>
                  <td class="mono">{r.rowId}</td>
                  <td>{r.change}</td>
                  <td>
                    {r.columns
                      ? Object.entries(r.columns).map(([k, c]) => (
                          <div>
                            <b>{k}</b>: {c.large ? '(large value changed)' : `${cell(c.old)} → ${cell(c.new)}`}
                          </div>
                        ))
                      : Object.entries(r.row ?? {})
                          .map(([k, v]) => `${k}=${cell(v)}`)
                          .join(' · ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {diff.rows.length < diff.counts.added + diff.counts.removed + diff.counts.changed && <p class="hint">Showing the first {diff.rows.length} changed rows.</p>}
        </>
      )}
    </div>
  );
}
