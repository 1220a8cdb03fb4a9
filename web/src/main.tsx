// The Quiver web UI: pick a dataset and a version, filter and search its rows in a virtualised
// grid with histograms beside it, open a row for its neighbours, lineage and feedback, and read
// the commit log and diffs. State that names a view (dataset, version) lives in the URL.

import '@shoelace-style/shoelace/dist/themes/light.css';
import '@shoelace-style/shoelace/dist/components/button/button.js';
import '@shoelace-style/shoelace/dist/components/input/input.js';
import '@shoelace-style/shoelace/dist/components/select/select.js';
import '@shoelace-style/shoelace/dist/components/option/option.js';
import '@shoelace-style/shoelace/dist/components/drawer/drawer.js';
import '@shoelace-style/shoelace/dist/components/dialog/dialog.js';
import '@shoelace-style/shoelace/dist/components/tab-group/tab-group.js';
import '@shoelace-style/shoelace/dist/components/tab/tab.js';
import '@shoelace-style/shoelace/dist/components/tab-panel/tab-panel.js';
import '@shoelace-style/shoelace/dist/components/rating/rating.js';
import '@shoelace-style/shoelace/dist/components/spinner/spinner.js';
import '@shoelace-style/shoelace/dist/components/tag/tag.js';
import './styles.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, getToken, type Commit, type DatasetInfo, type Ref } from './api';
import { Grid } from './grid';
import { Sidebar } from './sidebar';
import { Detail } from './detail';
import { DiffView, Log, VersionSwitcher, refOf, type Refs } from './history';
import { TokenButton } from './token';
import { countSql, rolesOf, whereOf, type Filter } from './sql';

const logCommitsShown = 100;

function urlState(): { dataset: string; at: Ref } {
  const q = new URLSearchParams(location.search);
  return { dataset: q.get('dataset') ?? '', at: q.get('ref') ? refOf(q.get('ref')!) : { kind: 'branch', name: 'main' } };
}

function pushUrl(dataset: string, at: Ref): void {
  const q = new URLSearchParams({ dataset, ref: `${at.kind}:${at.name}` });
  history.replaceState(null, '', `?${q}`);
}

function App() {
  const [dataset, setDataset] = useState(urlState().dataset);
  const [datasets, setDatasets] = useState<string[]>([]);
  const [at, setAt] = useState<Ref>(urlState().at);
  const [info, setInfo] = useState<DatasetInfo | null>(null);
  const [refs, setRefs] = useState<Refs>({ branches: [], tags: [] });
  const [commits, setCommits] = useState<Commit[]>([]);
  const [filter, setFilter] = useState<Filter>({ where: '', search: '' });
  const [whereText, setWhereText] = useState('');
  const [searchText, setSearchText] = useState('');
  const [total, setTotal] = useState<number | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState('grid');
  const [diffPair, setDiffPair] = useState<[string, string]>(['', '']);
  const [generation, setGeneration] = useState(0);
  const [writable, setWritable] = useState(getToken() !== '');
  const [tokenGen, setTokenGen] = useState(0);
  const [askToken, setAskToken] = useState(false);

  const onError = (e: unknown) => {
    // Every API call needs a token: a missing or refused one opens the token dialog.
    if (e instanceof ApiError && e.status === 401) setAskToken(true);
    setError(e instanceof Error ? e.message : String(e));
  };
  const onToken = (has: boolean) => {
    setWritable(has);
    setAskToken(false);
    setError(null);
    setTokenGen((g) => g + 1);
  };
  useEffect(() => {
    api.datasets().then((names) => {
      setDatasets(names);
      if (!dataset && names.length) setDataset(names[0]);
    }, onError);
  }, [tokenGen]);
  useEffect(() => {
    if (!dataset) return;
    pushUrl(dataset, at);
    setError(null);
    api.info(dataset, at).then(setInfo, onError);
    // A tenant token may not list branches and tags (they span tenants): the switcher then offers the log's versions.
    api.refs(dataset).then(setRefs, (e) => (e instanceof ApiError && e.status === 403 ? setRefs({ branches: [], tags: [] }) : onError(e)));
    api.log(dataset, at, logCommitsShown).then(setCommits, onError);
  }, [dataset, at.kind, at.name, generation, tokenGen]);

  const roles = useMemo(() => rolesOf(info?.schema ?? []), [info]);
  const where = useMemo(() => whereOf(filter, roles), [filter, roles]);
  useEffect(() => {
    if (!info) return;
    setTotal(null);
    const q = countSql(where);
    api.query(dataset, at, q.sql, q.params).then((r) => setTotal(Number(r[0].n)), (e) => {
      setTotal(0);
      onError(e);
    });
  }, [info, tokenGen, where.sql, JSON.stringify(where.params)]);

  const apply = () => {
    setError(null);
    setFilter({ ...filter, where: whereText, search: searchText });
  };
  const onKey = (e: KeyboardEvent) => e.key === 'Enter' && apply();
  const w = { dataset, at };
  // What the shown data depends on beyond the query: the version read and the token (a tenant token sees other rows).
  const epoch = `${info?.version.id ?? ''}|${tokenGen}`;
  const canWrite = writable && at.kind === 'branch';

  return (
    <div class="app">
      <header>
        <h1>Quiver</h1>
        {datasets.length > 1 && (
          <sl-select size="small" label="Dataset" value={dataset} onsl-change={(e: Event) => setDataset((e.target as HTMLSelectElement).value)}>
            {datasets.map((d) => (
              <sl-option value={d}>{d}</sl-option>
            ))}
          </sl-select>
        )}
        {datasets.length <= 1 && <span class="dataset-name">{dataset}</span>}
        <VersionSwitcher refs={refs} commits={commits.slice(0, 20)} at={at} onPick={(r) => { setOpen(null); setAt(r); }} />
        <span class="version-info" data-testid="version-info">
          {info ? `${info.version.id.slice(0, 10)} · ${info.rowCount} rows${info.readOnly ? ' · read-only' : ''}` : '…'}
        </span>
        <span class="spacer" />
        <TokenButton ask={askToken} onChange={onToken} />
      </header>
      <div class="filters">
        <sl-input size="small" class="where" data-testid="where" placeholder="SQL WHERE, e.g. rating >= 4 and list_contains(tags, 'cat')" value={whereText} onsl-input={(e: Event) => setWhereText((e.target as HTMLInputElement).value)} onKeyDown={onKey} clearable />
        <sl-input size="small" class="search" data-testid="search" placeholder={`search ${roles.prompt ?? 'text'}`} value={searchText} onsl-input={(e: Event) => setSearchText((e.target as HTMLInputElement).value)} onKeyDown={onKey} clearable />
        <sl-button size="small" variant="primary" data-testid="apply" onClick={apply}>
          Filter
        </sl-button>
        {(filter.rating !== undefined || filter.tag !== undefined) && (
          <span class="facets">
            {filter.rating !== undefined && (
              <sl-tag size="small" removable onsl-remove={() => setFilter({ ...filter, rating: undefined })}>
                {roles.rating} = {String(filter.rating)}
              </sl-tag>
            )}
            {filter.tag !== undefined && (
              <sl-tag size="small" removable onsl-remove={() => setFilter({ ...filter, tag: undefined })}>
                {roles.tags} ∋ {filter.tag}
              </sl-tag>
            )}
          </span>
        )}
        <span class="count" data-testid="count" data-count={total === null ? '' : String(total)}>
          {total === null ? 'counting…' : `${total} rows`}
        </span>
      </div>
      {error && (
        <div class="error" data-testid="error" onClick={() => setError(null)}>
          {error}
        </div>
      )}
      <sl-tab-group onsl-tab-show={(e: CustomEvent<{ name: string }>) => setTab(e.detail.name)}>
        <sl-tab slot="nav" panel="grid" data-testid="tab-grid">Rows</sl-tab>
        <sl-tab slot="nav" panel="log" data-testid="tab-log">Log</sl-tab>
        <sl-tab slot="nav" panel="diff" data-testid="tab-diff">Diff</sl-tab>
        <sl-tab-panel name="grid">
          <div class="browse">
            {info && <Sidebar {...w} epoch={epoch} roles={roles} where={where} rating={filter.rating} tag={filter.tag} onRating={(rating) => setFilter({ ...filter, rating })} onTag={(tag) => setFilter({ ...filter, tag })} onError={onError} />}
            {info && total !== null && <Grid {...w} epoch={epoch} roles={roles} where={where} total={total} onOpen={setOpen} onError={onError} />}
          </div>
        </sl-tab-panel>
        <sl-tab-panel name="log">{tab === 'log' && <Log commits={commits} onDiff={(a, b) => { setDiffPair([a, b]); (document.querySelector('sl-tab-group') as unknown as { show(p: string): void }).show('diff'); }} />}</sl-tab-panel>
        <sl-tab-panel name="diff">{tab === 'diff' && <DiffView dataset={dataset} refs={refs} commits={commits} from={diffPair[0]} to={diffPair[1]} onPick={(a, b) => setDiffPair([a, b])} onError={onError} />}</sl-tab-panel>
      </sl-tab-group>
      {info && <Detail {...w} rowId={open} roles={roles} writable={canWrite} onOpen={setOpen} onClose={() => setOpen(null)} onChanged={() => setGeneration((g) => g + 1)} onError={onError} />}
    </div>
  );
}

render(<App />, document.getElementById('app')!);
