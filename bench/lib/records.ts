// Seeded image-generation requests for the demo and the append benchmark: prompts from a small
// vocabulary (popular prompts repeat, so regenerations cluster), real PNGs made with sharp,
// embeddings derived from the content, and feedback. Invariant: the same options give the same
// records, byte for byte, apart from `created_at`, which is relative to `now`.

import sharp from 'sharp';
import { gaussian, rng } from './datagen.js';

/** One request's worth of output, as the product would append it. */
export interface GenRequest {
  request_id: string;
  prompt: string;
  /** Unit vector; identical prompts get identical vectors, prompts of one topic cluster. */
  prompt_emb: Float32Array;
  /** 1..imagesMax encoded PNGs, each byte-unique (a tEXt chunk names the request). */
  images: Uint8Array[];
  /** One unit vector per image, near its prompt's topic. */
  image_embs: Float32Array[];
  /** 1..5, or null when the user did not rate. */
  rating: number | null;
  /** Thumbs up / down, or null. */
  thumbs: boolean | null;
  /** A style word, 'safe' or 'unsafe', sometimes 'upscaled'. */
  tags: string[];
  user_id: string;
  /** The request this one regenerates, or null for a fresh request. */
  parent_id: string | null;
  created_at: Date;
}

export interface ImagePoolOptions {
  seed?: number;
  /** Distinct images to render. Default 64. */
  size?: number;
  /** Approximate PNG size to aim for; the side is calibrated to it. Default 8,000 bytes. */
  targetBytes?: number;
  /** Noise amplitude, 0..255: more noise, fewer pixels for the same bytes. Default 40. */
  noise?: number;
}

/** Pre-rendered PNGs; requests pick from it so rendering is never what a benchmark times. */
export interface ImagePool {
  images: Uint8Array[];
  /** Mean encoded size, bytes. */
  meanBytes: number;
  /** Seconds spent rendering. */
  seconds: number;
}

export interface RequestOptions {
  seed?: number;
  /** Requests to generate. */
  count: number;
  /** Dimension of prompt_emb. Default 384. */
  promptDim?: number;
  /** Dimension of each image_embs entry. Default 256. */
  imageDim?: number;
  /** Images per request are uniform in 1..imagesMax. Default 4 (the seed's shape). */
  imagesMax?: number;
  /** Share of requests that regenerate an earlier one. Default 0.35. */
  regenerateShare?: number;
  /** Users. Default max(20, count / 25). */
  users?: number;
  /** created_at spreads over the `days` before `now`, oldest first. Default 30 days before now. */
  now?: Date;
  days?: number;
}

const TOPICS: Record<string, string[]> = {
  animals: ['a red fox', 'an owl', 'a sleeping cat', 'a corgi puppy', 'a humpback whale', 'a koi fish'],
  city: ['a neon street', 'a rainy alley', 'a rooftop garden', 'a tram station', 'a night market'],
  space: ['a ringed planet', 'an astronaut', 'a nebula', 'a lunar base', 'a comet over mountains'],
  food: ['a bowl of ramen', 'a stack of pancakes', 'a sushi platter', 'a lemon tart'],
  fantasy: ['a dragon', 'a wizard tower', 'an elven archer', 'a floating castle', 'a crystal cave'],
  portrait: ['an old fisherman', 'a jazz singer', 'a samurai', 'a street dancer'],
  nature: ['a waterfall', 'a misty forest', 'a desert canyon', 'a glacier lake', 'autumn leaves'],
  vehicles: ['a vintage car', 'a steam train', 'a sailboat', 'a racing motorcycle'],
};
const SETTINGS = ['at sunset', 'in the snow', 'under a full moon', 'on a rainy day', 'in spring', 'at dawn', 'in a studio', ''];
export const STYLES = ['photorealistic', 'watercolor', 'anime', 'oil painting', 'pixel art', 'low poly', 'pencil sketch', 'cinematic'];
/** Mean rating a style earns, so "rating by tag" has something to show. */
const STYLE_BIAS: Record<string, number> = {
  photorealistic: 0.6,
  watercolor: 0.3,
  anime: 0.2,
  'oil painting': 0.4,
  'pixel art': -0.5,
  'low poly': -0.3,
  'pencil sketch': 0,
  cinematic: 0.5,
};

// ---- PNG -------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG with a tEXt chunk (`Comment` = text) inserted before IEND, so copies differ byte-wise. */
export function pngWithText(png: Uint8Array, text: string): Uint8Array {
  const body = new TextEncoder().encode(`Comment\0${text}`);
  const chunk = new Uint8Array(12 + body.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, body.length);
  chunk.set([0x74, 0x45, 0x58, 0x74], 4); // "tEXt"
  chunk.set(body, 8);
  view.setUint32(8 + body.length, crc32(chunk.subarray(4, 8 + body.length)));
  const iend = png.length - 12;
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, iend), 0);
  out.set(chunk, iend);
  out.set(png.subarray(iend), iend + chunk.length);
  return out;
}

/** Raw RGB pixels: a two-colour gradient, a few discs, and noise of amplitude `noise`. */
function renderRaw(width: number, height: number, seed: number, noise: number): Buffer {
  const rand = rng(seed);
  const c0 = [rand() * 255, rand() * 255, rand() * 255];
  const c1 = [rand() * 255, rand() * 255, rand() * 255];
  const angle = rand() * Math.PI * 2;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const discs = Array.from({ length: 3 + Math.floor(rand() * 4) }, () => ({
    x: rand() * width,
    y: rand() * height,
    r2: (0.05 + rand() * 0.2) ** 2 * width * height,
    c: [rand() * 255, rand() * 255, rand() * 255],
  }));
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x / width - 0.5) * dx + (y / height - 0.5) * dy)));
      let col = [c0[0] + (c1[0] - c0[0]) * t, c0[1] + (c1[1] - c0[1]) * t, c0[2] + (c1[2] - c0[2]) * t];
      for (const d of discs) if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r2) col = d.c;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) px[o + k] = Math.max(0, Math.min(255, col[k] + (rand() - 0.5) * noise));
    }
  }
  return px;
}

async function encodePng(width: number, height: number, seed: number, noise: number): Promise<Uint8Array> {
  const buf = await sharp(renderRaw(width, height, seed, noise), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const ASPECTS: [number, number][] = [
  [1, 1],
  [4, 3],
  [3, 4],
  [16, 9],
];

/**
 * Renders `size` distinct PNGs of about `targetBytes` each (noise compresses badly, so the
 * area is calibrated on a probe image). Aspect ratios vary: square, 4:3, 3:4, 16:9.
 */
export async function makeImagePool(options: ImagePoolOptions = {}): Promise<ImagePool> {
  const seed = options.seed ?? 1;
  const size = options.size ?? 64;
  const target = options.targetBytes ?? 8_000;
  const noise = options.noise ?? 40;
  const started = performance.now();
  // Bytes grow roughly with the pixel count; three rounds of rescaling land within a few percent.
  // Sizes vary with the discs drawn, so each round averages four probes.
  let side = 64;
  for (let round = 0; round < 3; round++) {
    let bytes = 0;
    for (let k = 0; k < 4; k++) bytes += (await encodePng(side, side, (seed ^ 0x5eed) + k, noise)).length / 4;
    side = Math.max(8, Math.round(side * Math.sqrt(target / bytes)));
  }
  const images: Uint8Array[] = [];
  for (let i = 0; i < size; i++) {
    const [aw, ah] = ASPECTS[i % ASPECTS.length];
    const scale = Math.sqrt((side * side) / (aw * ah));
    images.push(await encodePng(Math.max(8, Math.round(aw * scale)), Math.max(8, Math.round(ah * scale)), seed * 7919 + i, noise));
  }
  const meanBytes = images.reduce((n, b) => n + b.length, 0) / images.length;
  return { images, meanBytes, seconds: (performance.now() - started) / 1000 };
}

// ---- vectors ---------------------------------------------------------------------------------

/** FNV-1a 32-bit: a stable seed from a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function unitNear(centre: Float32Array, spread: number, seed: number): Float32Array {
  const g = gaussian(rng(seed));
  const v = new Float32Array(centre.length);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = centre[i] + spread * g();
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

function centres(dim: number, seed: number): Map<string, Float32Array> {
  const zero = new Float32Array(dim);
  return new Map(Object.keys(TOPICS).map((topic) => [topic, unitNear(zero, 1, seed ^ hashString(topic))]));
}

// ---- requests --------------------------------------------------------------------------------

interface Prompt {
  text: string;
  topic: string;
  style: string;
  /** Quality the prompt tends to get, added to the style's bias. */
  bias: number;
}

function promptPool(rand: () => number, count: number): Prompt[] {
  const topics = Object.keys(TOPICS);
  const seen = new Set<string>();
  const out: Prompt[] = [];
  for (let tries = 0; out.length < count && tries < count * 20; tries++) {
    const topic = topics[Math.floor(rand() * topics.length)];
    const subjects = TOPICS[topic];
    const subject = subjects[Math.floor(rand() * subjects.length)];
    const setting = SETTINGS[Math.floor(rand() * SETTINGS.length)];
    const style = STYLES[Math.floor(rand() * STYLES.length)];
    const text = [subject, setting].filter(Boolean).join(' ') + `, ${style}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ text, topic, style, bias: (rand() - 0.5) * 1.5 });
  }
  return out;
}

/** Index in 0..n-1, Zipf-like (s = 1): a few prompts are very popular. */
function zipf(rand: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.exp(rand() * Math.log(n + 1))) - 1);
}

/**
 * Generates `count` requests in time order, picking images from `pool` (each made byte-unique).
 * About `regenerateShare` of them regenerate an earlier request of a popular prompt; those
 * carry `parent_id` and reuse the parent's prompt.
 */
export function generateRequests(options: RequestOptions, pool: ImagePool): GenRequest[] {
  const seed = options.seed ?? 1;
  const rand = rng(seed);
  const promptDim = options.promptDim ?? 384;
  const imageDim = options.imageDim ?? 256;
  const imagesMax = options.imagesMax ?? 4;
  const regenerate = options.regenerateShare ?? 0.35;
  const users = options.users ?? Math.max(20, Math.floor(options.count / 25));
  const now = (options.now ?? new Date()).getTime();
  const spanMs = (options.days ?? 30) * 86_400_000;
  const prompts = promptPool(rand, Math.max(40, Math.floor(options.count / 6)));
  const promptCentres = centres(promptDim, seed);
  const imageCentres = centres(imageDim, seed + 1);
  const promptEmbs = new Map<string, Float32Array>();
  const lastRequestOf = new Map<number, string>();
  const out: GenRequest[] = [];

  for (let i = 0; i < options.count; i++) {
    const request_id = `req-${String(i).padStart(6, '0')}`;
    // A regeneration redoes the latest request of a popular prompt; a fresh request may still
    // repeat a prompt someone typed before (different users, same words).
    let p = zipf(rand, prompts.length);
    let parent_id: string | null = null;
    if (rand() < regenerate) {
      for (let tries = 0; tries < 8 && !lastRequestOf.has(p); tries++) p = zipf(rand, prompts.length);
      parent_id = lastRequestOf.get(p) ?? null;
    }
    const prompt = prompts[p];
    lastRequestOf.set(p, request_id);
    let prompt_emb = promptEmbs.get(prompt.text);
    if (!prompt_emb) {
      prompt_emb = unitNear(promptCentres.get(prompt.topic)!, 0.6 / Math.sqrt(promptDim), hashString(prompt.text));
      promptEmbs.set(prompt.text, prompt_emb);
    }
    const n = 1 + Math.floor(rand() * imagesMax);
    const images: Uint8Array[] = [];
    const image_embs: Float32Array[] = [];
    for (let k = 0; k < n; k++) {
      const pick = Math.floor(rand() * pool.images.length);
      images.push(pngWithText(pool.images[pick], `${request_id}/${k}`));
      image_embs.push(unitNear(imageCentres.get(prompt.topic)!, 0.9 / Math.sqrt(imageDim), hashString(request_id) + k));
    }
    const rated = rand() < 0.6;
    const quality = 3 + STYLE_BIAS[prompt.style] + prompt.bias + (rand() - 0.5) * 2.5 - (parent_id ? 0.3 : 0);
    const rating = rated ? Math.max(1, Math.min(5, Math.round(quality))) : null;
    const thumbs = rand() < 0.5 ? null : rating !== null ? rating >= 4 : rand() < 0.5;
    const tags = [prompt.style, rand() < 0.05 ? 'unsafe' : 'safe'];
    if (rand() < 0.1) tags.push('upscaled');
    out.push({
      request_id,
      prompt: prompt.text,
      prompt_emb,
      images,
      image_embs,
      rating,
      thumbs,
      tags,
      user_id: `user-${String(zipf(rand, users)).padStart(4, '0')}`,
      parent_id,
      created_at: new Date(now - spanMs + Math.floor(((i + rand()) / options.count) * spanMs)),
    });
  }
  return out;
}
