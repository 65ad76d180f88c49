-- Indicator rows → COG 2026 communes (see docs/indicators.md, "Mapping to COG 2026").
-- Inputs: ind_brut (parsed rows of every source), ind_passage (code_source → code_reference),
-- ind_population (code, annee, poids), ind_attendus (cog_annee, code), ind_unites (indicateur, additif).
-- Output: ind_cog, one row per (source, source COG, reference commune, indicator, year).
-- Quality ranks: 0 ok, 1 derive, 2 non_publie, 3 secret (worst wins).

-- Reference communes made of several source codes: only their rows are merged.
CREATE OR REPLACE TEMP TABLE ind_multiples AS
SELECT code_reference FROM ind_passage GROUP BY code_reference HAVING count(*) > 1;

CREATE OR REPLACE TEMP VIEW ind_lignes AS
SELECT b.source_id, b.src_ord, b.cog_annee, b.code_commune_source, p.code_reference,
       b.indicateur, b.annee, coalesce(b.annee, 0) AS annee_poids, b.valeur, b.rang, b.ligne_source,
       m.code_reference IS NOT NULL AS multiple
FROM ind_brut AS b
JOIN ind_passage AS p ON p.code_source = b.code_commune_source
LEFT JOIN ind_multiples AS m ON m.code_reference = p.code_reference;

-- A reference commune of several parts is incomplete when an expected part (a code of the
-- source's COG vintage) has no row for that indicator and year.
CREATE OR REPLACE TEMP TABLE ind_manque AS
WITH cles AS (
    SELECT DISTINCT source_id, cog_annee, code_reference, indicateur, annee FROM ind_lignes WHERE multiple
), parties AS (
    SELECT c.*, p.code_source
    FROM cles AS c
    JOIN ind_passage AS p ON p.code_reference = c.code_reference
    JOIN ind_attendus AS a ON a.cog_annee = c.cog_annee AND a.code = p.code_source
)
SELECT DISTINCT t.source_id, t.cog_annee, t.code_reference, t.indicateur, t.annee
FROM parties AS t
ANTI JOIN ind_lignes AS l
    ON l.source_id = t.source_id AND l.cog_annee = t.cog_annee AND l.code_commune_source = t.code_source
   AND l.indicateur = t.indicateur AND coalesce(l.annee, -1) = coalesce(t.annee, -1);

-- Weight of a part of a merged commune: population of the same code at the nearest earlier
-- year, else the nearest later one (only parts of non-additive values are weighted).
CREATE OR REPLACE TEMP VIEW ind_parties AS
WITH multiples AS (
    SELECT * FROM ind_lignes WHERE multiple
), poids AS (
    SELECT l.source_id, l.cog_annee, l.code_commune_source, l.indicateur, l.annee,
           coalesce(avant.poids, apres.poids) AS poids
    FROM (SELECT * FROM multiples SEMI JOIN ind_unites AS u ON u.indicateur = multiples.indicateur AND NOT u.additif) AS l
    ASOF LEFT JOIN ind_population AS avant ON avant.code = l.code_commune_source AND l.annee_poids >= avant.annee
    ASOF LEFT JOIN ind_population AS apres ON apres.code = l.code_commune_source AND l.annee_poids <= apres.annee
)
SELECT l.*, w.poids
FROM multiples AS l
LEFT JOIN poids AS w
    ON w.source_id = l.source_id AND w.cog_annee IS NOT DISTINCT FROM l.cog_annee
   AND w.code_commune_source = l.code_commune_source AND w.indicateur = l.indicateur
   AND w.annee IS NOT DISTINCT FROM l.annee;

CREATE OR REPLACE TEMP TABLE ind_cog AS
WITH groupes AS (
    SELECT p.source_id, min(p.src_ord) AS src_ord, p.cog_annee, p.code_reference, p.indicateur, p.annee,
           count(*) AS n,
           bool_or(p.valeur IS NULL OR m.code_reference IS NOT NULL) AS incomplet,
           max(p.rang) AS rang,
           bool_and(u.additif) AS additif,
           sum(p.valeur) AS total,
           avg(p.valeur) AS moyenne,
           sum(p.valeur * p.poids) AS somme_ponderee,
           sum(p.poids) AS poids,
           bool_or(p.poids IS NULL) AS poids_manquant,
           any_value(p.ligne_source) AS ligne_source
    FROM ind_parties AS p
    JOIN ind_unites AS u ON u.indicateur = p.indicateur
    LEFT JOIN ind_manque AS m
        ON m.source_id = p.source_id AND m.cog_annee IS NOT DISTINCT FROM p.cog_annee
       AND m.code_reference = p.code_reference AND m.indicateur = p.indicateur
       AND m.annee IS NOT DISTINCT FROM p.annee
    GROUP BY p.source_id, p.cog_annee, p.code_reference, p.indicateur, p.annee
), classes AS (
    SELECT *, n > 1 AND NOT additif AS moyennee,
           n > 1 AND NOT additif AND (poids_manquant OR poids <= 0) AS sans_poids
    FROM groupes
)
SELECT source_id, src_ord, cog_annee AS cog_source, code_reference AS code_commune, indicateur, annee,
       CASE WHEN incomplet THEN NULL
            WHEN NOT moyennee THEN total
            WHEN sans_poids THEN moyenne
            ELSE somme_ponderee / poids END AS valeur,
       CASE WHEN incomplet THEN greatest(rang, 2)
            WHEN moyennee THEN greatest(rang, 1)
            ELSE rang END AS rang,
       CASE WHEN n = 1 THEN ligne_source END AS ligne_source,
       sans_poids
FROM classes
UNION ALL
-- A commune of one source code keeps its row (a NULL is at least non_publie, as above).
SELECT source_id, src_ord, cog_annee, code_reference, indicateur, annee, valeur,
       CASE WHEN valeur IS NULL THEN greatest(rang, 2) ELSE rang END,
       ligne_source, FALSE
FROM ind_lignes
WHERE NOT multiple;

DROP VIEW ind_parties;
DROP VIEW ind_lignes;
DROP TABLE ind_manque;
DROP TABLE ind_multiples;
