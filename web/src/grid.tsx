// The virtualised image grid: @tanstack/virtual-core lays out rows of cards, and only the rows
// in view (plus `overscanRows`) are in the DOM; their records are fetched a page at a time.
// Invariant: a change of filter or version starts a fresh page cache, so no card shows a row
// of the previous query.

import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { api, type Row } from './api';
import { Card, type Where } from './card';
import { pageSql, type Roles, type Sql } from './sql';

const cardWidthPx = 200;
const cardHeightPx = 280;
const pageRows = 60;
const overscanRows = 2;

export function Grid(props: Where & { epoch: string; roles: Roles; where: Sql; total: number; onOpen: (rowId: string) => void; onError: (e: unknown) => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [width, setWidth] = useState(cardWidthPx * 4);
  const pages = useRef(new Map<number, Row[] | 'loading'>());
  const key = `${props.dataset}|${props.at.kind}:${props.at.name}|${props.epoch}|${props.where.sql}|${JSON.stringify(props.where.params)}`;
  const keyRef = useRef(key);
  if (keyRef.current !== key) {
    keyRef.current = key;
    pages.current = new Map();
  }
  const columns = Math.max(1, Math.floor(width / cardWidthPx));
  const lines = Math.ceil(props.total / columns);

  const virtualizer = useRef<Virtualizer<HTMLDivElement, Element>>();
  if (!virtualizer.current) {
    virtualizer.current = new Virtualizer({
      count: lines,
      getScrollElement: () => scroller.current,
      estimateSize: () => cardHeightPx,
      overscan: overscanRows,
      observeElementRect,
      observeElementOffset,
      scrollToFn: elementScroll,
      onChange: () => rerender(0),
    });
  }
  const v = virtualizer.current;
  v.setOptions({ ...v.options, count: lines });

  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  useEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [key]);

  const items = v.getVirtualItems();
  const rowAt = (i: number): Row | undefined => {
    const page = Math.floor(i / pageRows);
    const got = pages.current.get(page);
    if (got === 'loading') return undefined;
    if (got) return got[i - page * pageRows];
    pages.current.set(page, 'loading');
    const mine = pages.current;
    const q = pageSql(props.where, props.roles, pageRows, page * pageRows);
    api.query(props.dataset, props.at, q.sql, q.params).then(
      (rows) => {
        mine.set(page, rows);
        if (pages.current === mine) rerender(0);
      },
      (e) => {
        mine.delete(page);
        props.onError(e);
      },
    );
    return undefined;
  };

  return (
    <div class="grid-scroll" ref={scroller} data-testid="grid">
      <div style={{ height: `${v.getTotalSize()}px`, position: 'relative' }}>
        {items.map((it) => (
          <div class="grid-line" key={it.key} style={{ transform: `translateY(${it.start}px)`, height: `${cardHeightPx}px` }}>
            {Array.from({ length: columns }, (_, c) => it.index * columns + c)
              .filter((i) => i < props.total)
              .map((i) => {
                const row = rowAt(i);
                return row ? (
                  <Card key={String(row.row_id)} dataset={props.dataset} at={props.at} row={row} roles={props.roles} width={cardWidthPx - 16} onOpen={props.onOpen} />
                ) : (
                  <div key={`p${i}`} class="card placeholder" />
                );
              })}
          </div>
        ))}
      </div>
    </div>
  );
}
