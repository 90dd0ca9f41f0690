-- Queries of the statistics board (统计大屏, gis.oversight.statistics). Every event read goes
-- through the one read-scope rule: visible_events(@scope_prefixes, @scope_department)
-- (migration 0007). Periods are [@since, @until) instants; days are China Standard Time days
-- counted from @since (a CST midnight, given by gis.clock), so no time zone is spelt here.

-- name: headline
-- New today (reported in [@today, @tomorrow)), open now (status in @open), overdue now (open
-- with its due time before @now), closed today (a close in the history in [@today,
-- @tomorrow), each event once, as the assessment counts 结案).
SELECT
    (SELECT count(*)
     FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
     WHERE e.reported_at >= :today AND e.reported_at < :tomorrow) AS new_today,
    (SELECT count(*)
     FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
     WHERE e.status = ANY(CAST(:open AS text[]))) AS open,
    (SELECT count(*)
     FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
     WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < :now) AS overdue,
    (SELECT count(DISTINCT h.event_id)
     FROM event_history h
     JOIN visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
       ON e.id = h.event_id
     WHERE h.action = 'close' AND h.at >= :today AND h.at < :tomorrow) AS closed_today;

-- name: per_day_class
-- Events reported in [@since, @until) per day (0 = the day starting at @since) and class.
SELECT floor(extract(epoch FROM e.reported_at - CAST(:since AS timestamptz)) / 86400)::int
           AS day,
       c.code AS class_code, c.name AS class_name, c.name_zh AS class_name_zh, count(*) AS n
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
JOIN event_class c ON c.code = i.class_code
WHERE e.reported_at >= :since AND e.reported_at < :until
GROUP BY 1, c.code, c.name, c.name_zh, c.position
ORDER BY 1, c.position, c.code;

-- name: top_items
-- The @limit items with the most events reported in [@since, @until) (ties: item code).
SELECT i.code AS item_code, i.name AS item_name, i.name_zh AS item_name_zh,
       i.class_code, count(*) AS n
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.reported_at >= :since AND e.reported_at < :until
GROUP BY i.code, i.name, i.name_zh, i.class_code
ORDER BY count(*) DESC, i.code
LIMIT :limit;

-- name: area_counts
-- Events reported in [@since, @until) per street and per community (events without one,
-- i.e. unassigned, are in neither).
WITH ev AS (
    SELECT e.street_code, e.community_code
    FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
    WHERE e.reported_at >= :since AND e.reported_at < :until
)
SELECT 'street' AS level, ev.street_code AS code, count(*) AS n
FROM ev WHERE ev.street_code IS NOT NULL GROUP BY ev.street_code
UNION ALL
SELECT 'community' AS level, ev.community_code AS code, count(*) AS n
FROM ev WHERE ev.community_code IS NOT NULL GROUP BY ev.community_code
ORDER BY level, n DESC, code;

-- name: visible_ids
-- Which of the events @ids the caller may read (the scope rule applied to rows read elsewhere,
-- such as the assessment's indicator marks).
SELECT e.id
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
WHERE e.id = ANY(CAST(:ids AS bigint[]));

-- name: areas
-- The active generation's streets, communities and grids: name and the enclosing community and
-- street (a grid's patrol coverage adds up to its community's and street's).
SELECT 'street' AS level, s.code, s.name, NULL AS community_code, s.code AS street_code
FROM street s JOIN generation g ON g.id = s.generation_id AND g.status = 'active'
UNION ALL
SELECT 'community' AS level, c.code, c.name, c.code AS community_code, c.street_code
FROM community c JOIN generation g ON g.id = c.generation_id AND g.status = 'active'
UNION ALL
SELECT 'grid' AS level, gr.code, gr.name, gr.community_code, c.street_code
FROM grid gr JOIN generation g ON g.id = gr.generation_id AND g.status = 'active'
JOIN community c ON c.generation_id = gr.generation_id AND c.code = gr.community_code;
