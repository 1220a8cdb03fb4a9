// The product questions the seed asks of an image-generation dataset, each one SQL query over
// the single `dataset` table: feedback, lineage (parent_id), images and embeddings together.

import type { Dataset } from '../src/index.js';

/** A bindable query parameter, as the public `query` accepts it. */
type Param = NonNullable<Parameters<Dataset['query']>[1]>[number];

export interface Question {
  title: string;
  sql: string;
  params: Param[];
}

/** The questions, with `now` fixing "the last 7 days" and `probe` a prompt embedding to search near. */
export function productQuestions(now: Date, probe: Float32Array): Question[] {
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
  return [
    {
      title: '1. Which prompts produce the most regenerations?',
      // A regeneration's parent_id names the request it redoes: join it back to that request.
      sql: `select p.prompt, count(*) as regenerations, count(distinct c.user_id) as users,
                   round(avg(p.rating), 2) as parent_rating, round(avg(c.rating), 2) as regen_rating
            from dataset c join dataset p on c.parent_id = p.request_id
            group by p.prompt order by regenerations desc, p.prompt limit 10`,
      params: [],
    },
    {
      title: '2. Top 1% rated outputs of the last 7 days (safe only), for fine-tuning',
      sql: `with recent as (
              select request_id, prompt, rating, thumbs, len(images) as images, images_width[1] as width,
                     images_height[1] as height, created_at
              from dataset
              where created_at >= $1 and rating is not null and not list_contains(tags, 'unsafe')),
            ranked as (
              select *, percent_rank() over (order by rating desc, thumbs desc nulls last, created_at desc) as pr
              from recent)
            select request_id, prompt, rating, thumbs, images, width, height, created_at
            from ranked where pr < 0.01 order by pr limit 20`,
      params: [weekAgo],
    },
    {
      title: '3. Rating by tag',
      sql: `select tag, count(*) as requests, count(rating) as rated, round(avg(rating), 2) as avg_rating,
                   round(avg(thumbs::int), 2) as thumbs_up_share
            from (select unnest(tags) as tag, rating, thumbs from dataset)
            group by tag order by avg_rating desc`,
      params: [],
    },
    {
      title: '4. Images per request',
      sql: `select len(images) as images_per_request, count(*) as requests,
                   round(avg(list_avg(list_transform(images, x -> octet_length(x))))) as avg_png_bytes,
                   list_sort(list_distinct(flatten(list(images_format)))) as formats
            from dataset group by 1 order by 1`,
      params: [],
    },
    {
      title: '5. Highest-rated requests of the last 7 days near a prompt embedding (vector + filter, one query)',
      sql: `select request_id, prompt, rating, user_id,
                   round(array_cosine_similarity(prompt_emb, $2::FLOAT[${probe.length}]), 3) as similarity
            from dataset
            where created_at >= $1 and rating >= 4
            order by similarity desc, rating desc limit 8`,
      params: [weekAgo, probe],
    },
  ];
}
