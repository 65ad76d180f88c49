-- fact_indicateur_commune rows: mapped and derived rows, one per (commune, indicator, year,
-- source), dated by ind_disponibilite (source_id, annee, date_publication). A derived row
-- carries its numerator's source and is dated by the later of its numerator's and its
-- denominator's publication (a rate is known once both are). When a source spans several COG
-- vintages (IRIS files) and two of them give the same key, the earliest vintage wins.
CREATE OR REPLACE TEMP TABLE ind_faits AS
WITH lignes AS (
    SELECT * FROM ind_cog UNION ALL BY NAME SELECT * FROM ind_derive
), plusieurs_cog AS (
    SELECT source_id FROM lignes GROUP BY source_id HAVING count(DISTINCT coalesce(cog_source, -1)) > 1
), uniques AS (
    SELECT * FROM lignes ANTI JOIN plusieurs_cog USING (source_id)
    UNION ALL BY NAME
    (SELECT * FROM lignes SEMI JOIN plusieurs_cog USING (source_id)
     QUALIFY row_number() OVER (
         PARTITION BY code_commune, indicateur, annee, source_id ORDER BY cog_source NULLS LAST) = 1)
)
SELECT f.code_commune, f.indicateur, f.annee, f.valeur, f.source_id, q.qualite,
       CASE WHEN f.source_den IS NULL THEN d.date_publication ELSE greatest(d.date_publication, dd.date_publication) END AS date_publication
FROM uniques AS f
JOIN ind_qualites AS q USING (rang)
LEFT JOIN ind_disponibilite AS d ON d.source_id = f.source_id AND d.annee = f.annee
LEFT JOIN ind_disponibilite AS dd ON dd.source_id = f.source_den AND dd.annee = f.annee_den;

DROP TABLE ind_cog;
DROP TABLE ind_derive;
