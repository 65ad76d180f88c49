-- Derived rates, shares and density (see docs/indicators.md, "Derived values").
-- Inputs: ind_cog (rows on one geography), ind_ratios (indicateur, numerateur, denominateur,
-- facteur, appariement: meme_annee | anterieure | statique). Output: ind_derive, new rows only
-- (a value already in ind_cog for the same commune, indicator and year wins). A derived row
-- keeps the source, source COG and year of its numerator, and records its denominator's source
-- and year (source_den, annee_den): it is published only once both parts are.

-- One row per commune, indicator and year: a value before a NULL, then the best flag, then source order.
CREATE OR REPLACE TEMP TABLE ind_base AS
SELECT * FROM ind_cog
WHERE annee IS NOT NULL
  AND indicateur IN (SELECT numerateur FROM ind_ratios UNION SELECT denominateur FROM ind_ratios)
QUALIFY row_number() OVER (
    PARTITION BY code_commune, indicateur, annee
    ORDER BY valeur IS NULL, rang, src_ord, cog_source NULLS LAST) = 1;

CREATE OR REPLACE TEMP TABLE ind_numerateurs AS
SELECT b.source_id, b.src_ord, b.cog_source, b.code_commune, b.annee, b.valeur, b.rang,
       r.indicateur AS derive, r.denominateur, r.facteur, r.appariement
FROM ind_base AS b
JOIN ind_ratios AS r ON r.numerateur = b.indicateur;

-- Each denominator row with its neighbouring years, so that matching is an equi-join plus a
-- range test (faster than ASOF joins over 35,000 communes).
CREATE OR REPLACE TEMP TABLE ind_denominateurs AS
SELECT code_commune, indicateur, annee, valeur, rang, source_id,
       lag(annee) OVER w AS precedente, lead(annee) OVER w AS suivante
FROM ind_base
WINDOW w AS (PARTITION BY code_commune, indicateur ORDER BY annee);

CREATE OR REPLACE TEMP TABLE ind_paires AS
SELECT n.*, d.valeur AS den, d.rang AS rang_den, d.source_id AS source_den, d.annee AS annee_den
FROM ind_numerateurs AS n
JOIN ind_denominateurs AS d ON d.code_commune = n.code_commune AND d.indicateur = n.denominateur
WHERE CASE n.appariement
    WHEN 'meme_annee' THEN n.annee = d.annee
    -- same or nearest earlier year
    WHEN 'anterieure' THEN n.annee >= d.annee AND (d.suivante IS NULL OR n.annee < d.suivante)
    -- nearest year; on a tie the earlier year wins
    WHEN 'statique' THEN (d.precedente IS NULL OR n.annee - d.precedente > d.annee - n.annee)
                     AND (d.suivante IS NULL OR n.annee - d.annee <= d.suivante - n.annee)
END;

CREATE OR REPLACE TEMP TABLE ind_derive AS
SELECT p.source_id, p.src_ord, p.cog_source, p.code_commune, p.derive AS indicateur, p.annee,
       CASE WHEN p.valeur IS NOT NULL AND p.den > 0 THEN p.valeur / p.den * p.facteur END AS valeur,
       greatest(p.rang, p.rang_den, CASE WHEN p.valeur IS NOT NULL AND p.den > 0 THEN 1 ELSE 2 END) AS rang,
       NULL::BIGINT AS ligne_source,
       FALSE AS sans_poids,
       p.source_den, p.annee_den
FROM ind_paires AS p
ANTI JOIN (SELECT code_commune, indicateur, annee FROM ind_cog SEMI JOIN ind_ratios AS r ON r.indicateur = ind_cog.indicateur) AS c
    ON c.code_commune = p.code_commune AND c.indicateur = p.derive AND c.annee = p.annee;

DROP TABLE ind_base;
DROP TABLE ind_numerateurs;
DROP TABLE ind_denominateurs;
DROP TABLE ind_paires;
