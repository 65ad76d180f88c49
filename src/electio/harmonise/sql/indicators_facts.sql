-- fact_indicateur_commune rows: mapped and derived rows, one per (commune, indicator, year,
-- source) (the earliest source COG vintage wins), dated by ind_disponibilite (source_id, annee,
-- date_publication). A derived row carries its numerator's source, so its numerator's date.
CREATE OR REPLACE TEMP TABLE ind_faits AS
SELECT f.code_commune, f.indicateur, f.annee, f.valeur, f.source_id, q.qualite, d.date_publication
FROM (SELECT * FROM ind_cog UNION ALL BY NAME SELECT * FROM ind_derive) AS f
JOIN ind_qualites AS q USING (rang)
LEFT JOIN ind_disponibilite AS d ON d.source_id = f.source_id AND d.annee = f.annee
QUALIFY row_number() OVER (
    PARTITION BY f.code_commune, f.indicateur, f.annee, f.source_id ORDER BY f.cog_source NULLS LAST) = 1
ORDER BY f.code_commune, f.indicateur, f.annee, f.source_id;

DROP TABLE ind_cog;
DROP TABLE ind_derive;
