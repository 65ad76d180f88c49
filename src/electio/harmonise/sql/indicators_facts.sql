-- fact_indicateur_commune rows: mapped and derived rows, one per (commune, indicator, year,
-- source), dated by ind_disponibilite (source_id, annee, date_publication). A derived row
-- carries its numerator's source, so its numerator's date. When a source spans several COG
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
SELECT f.code_commune, f.indicateur, f.annee, f.valeur, f.source_id, q.qualite, d.date_publication
FROM uniques AS f
JOIN ind_qualites AS q USING (rang)
LEFT JOIN ind_disponibilite AS d ON d.source_id = f.source_id AND d.annee = f.annee;

DROP TABLE ind_cog;
DROP TABLE ind_derive;
