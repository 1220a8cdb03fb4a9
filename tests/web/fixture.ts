// The web UI tests' dataset: a gallery of small generated PNGs whose colour family is also their
// embedding (so a row's nearest neighbours share its colour), prompts, ratings, tags and a
// regeneration parent; tag `v1` at the first commit, and a branch `experiment` that re-rates
// and deletes some rows. Rows belong to tenants u1 and u2 (`user_id`, the tenant column).
// Seeded: the same seed gives the same rows.
import sharp from 'sharp';
import * as quiver from '../../src/index.js';
import { prng } from '../helpers/tmp.js';

export const GALLERY_SCHEMA = { user_id: 'text!', prompt: 'text!', image: 'image', image_emb: 'emb-8', rating: 'int32', tags: 'list<text>', parent_id: 'int64' } as const;

const HUES: [string, [number, number, number]][] = [
  ['red', [220, 40, 40]],
  ['orange', [240, 140, 30]],
  ['yellow', [230, 210, 40]],
  ['green', [50, 170, 70]],
  ['teal', [30, 160, 160]],
  ['blue', [40, 80, 220]],
  ['purple', [140, 60, 200]],
  ['pink', [240, 120, 180]],
];
const SUBJECTS = ['fox', 'car', 'house', 'tree', 'boat', 'cat', 'mountain', 'robot'];
const TAGS = ['animal', 'vehicle', 'building', 'nature', 'night', 'portrait', 'unsafe'];

export interface Gallery {
  ds: quiver.Dataset;
  rowIds: bigint[];
  /** Rows in the first commit (the `v1` tag). */
  v1Rows: number;
  /** On `experiment`: rows re-rated and rows deleted. */
  experiment: { rerated: bigint[]; deleted: bigint[] };
}

async function pngOf(rgb: [number, number, number], shade: number): Promise<Uint8Array> {
  const [r, g, b] = rgb.map((c) => Math.max(0, Math.min(255, Math.round(c * shade))));
  const size = 48;
  // A disc on a light background, so thumbnails read as pictures rather than flat squares.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#eef"/><circle cx="24" cy="24" r="${14 + shade * 6}" fill="rgb(${r},${g},${b})"/></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

async function recordOf(rand: () => number, parent: bigint | null) {
  const h = Math.floor(rand() * HUES.length);
  const s = Math.floor(rand() * SUBJECTS.length);
  const shade = 0.7 + rand() * 0.3;
  const emb = Array.from({ length: 8 }, (_, i) => (i === h ? 1 : 0) + (rand() - 0.5) * 0.2);
  const tags = TAGS.filter(() => rand() < 0.25);
  return {
    user_id: rand() < 0.5 ? 'u1' : 'u2',
    prompt: `${/^[aeiou]/.test(HUES[h][0]) ? 'an' : 'a'} ${HUES[h][0]} ${SUBJECTS[s]}${rand() < 0.3 ? ' at night' : ''}`,
    image: await pngOf(HUES[h][1], shade),
    image_emb: emb,
    rating: rand() < 0.1 ? null : 1 + Math.floor(rand() * 5),
    tags,
    parent_id: parent,
  };
}

/** Creates the gallery at `target`: `rows` rows in two commits on main, the tag and the branch. */
export async function seedGallery(target: string, rows = 200, seed = 13): Promise<Gallery> {
  const rand = prng(seed);
  const ds = await quiver.create(target, { schema: { ...GALLERY_SCHEMA }, tenant: 'user_id' });
  const v1Rows = Math.floor(rows * 0.75);
  const rowIds: bigint[] = [];
  const batch = async (n: number) => {
    for (let i = 0; i < n; i++) {
      // About a third of the rows regenerate an earlier one (appended one by one, so any earlier row may be the parent).
      const parent = rowIds.length > 0 && rand() < 0.35 ? rowIds[Math.floor(rand() * rowIds.length)] : null;
      rowIds.push(...(await ds.append(await recordOf(rand, parent))).rowIds);
    }
  };
  await batch(v1Rows);
  await ds.commit('first generations');
  await ds.tag('v1');
  await batch(rows - v1Rows);
  await ds.commit('more generations');
  const exp = await ds.branch('experiment');
  const rerated = rowIds.slice(0, 10);
  await exp.update({ rows: rerated.map((id) => ({ row_id: id, rating: 5 })) });
  const deleted = rowIds.slice(20, 25);
  await exp.delete({ rowIds: deleted });
  await exp.commit('experiment: re-rate 10, drop 5');
  await exp.close();
  return { ds, rowIds, v1Rows, experiment: { rerated, deleted } };
}
