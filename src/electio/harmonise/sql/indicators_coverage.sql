-- couverture_indicateur: per indicator and year, communes with a value (any source) and the NULLs
-- by secret / not published; an indicator of the referential (ind_dim) with no row is a gap.
-- Parameter: the number of communes of the territory.
WITH meilleure AS (
    SELECT * FROM ind_faits
    QUALIFY row_number() OVER (PARTITION BY code_commune, indicateur, annee ORDER BY valeur IS NULL, qualite) = 1
), par_annee AS (
    SELECT indicateur, annee,
           count(valeur) AS communes_couvertes,
           count(*) FILTER (WHERE qualite = 'secret') AS nulls_secret,
           count(*) FILTER (WHERE qualite = 'non_publie') AS nulls_non_publie
    FROM meilleure
    GROUP BY indicateur, annee
)
SELECT d.theme, d.indicateur, p.annee,
       coalesce(p.communes_couvertes, 0) AS communes_couvertes,
       ?::BIGINT AS communes_attendues,
       coalesce(p.nulls_secret, 0) AS nulls_secret,
       coalesce(p.nulls_non_publie, 0) AS nulls_non_publie,
       CASE WHEN p.annee IS NULL THEN 'lacune' ELSE 'ok' END AS statut
FROM ind_dim AS d
LEFT JOIN par_annee AS p USING (indicateur)
ORDER BY d.ordre, p.annee;
