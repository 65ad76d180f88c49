-- couverture_indicateur: per indicator and year, communes with a value (any source) and the NULLs
-- by secret / not published; an indicator of the referential (ind_dim) with no row is a gap.
-- Parameter: the number of communes of the territory.
WITH meilleure AS (
    -- One row per commune, indicator and year: covered if any source has a value; otherwise
    -- the flag of the best NULL (non_publie before secret).
    SELECT indicateur, annee, bool_or(valeur IS NOT NULL) AS couverte, min(qualite) AS qualite
    FROM ind_faits
    GROUP BY code_commune, indicateur, annee
), par_annee AS (
    SELECT indicateur, annee,
           count(*) FILTER (WHERE couverte) AS communes_couvertes,
           count(*) FILTER (WHERE NOT couverte AND qualite = 'secret') AS nulls_secret,
           count(*) FILTER (WHERE NOT couverte AND qualite = 'non_publie') AS nulls_non_publie
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
