-- Parts of merged communes missing from a source, completed from another publication of the
-- same values (ind_complements: source_id, code, cog_annee, indicateur, annee, valeur; e.g. the
-- populations légales N in COGugaison's COG N+2 table). A part is added only when its reference
-- commune has a row from that source for the same vintage, indicator and year, the part is an
-- expected code of that COG vintage, and the source has no row for it. Added rows are flagged
-- derive (rank 1), so the merged value is flagged derive too.
INSERT INTO ind_brut
SELECT DISTINCT c.source_id, b.src_ord, c.code, c.cog_annee, c.indicateur, c.annee, c.valeur, 1, NULL
FROM ind_complements AS c
JOIN ind_passage AS p ON p.code_source = c.code
JOIN ind_attendus AS a ON a.cog_annee = c.cog_annee AND a.code = c.code
JOIN (
    SELECT DISTINCT b.source_id, b.src_ord, b.cog_annee, b.indicateur, b.annee, q.code_reference
    FROM ind_brut AS b JOIN ind_passage AS q ON q.code_source = b.code_commune_source
    WHERE b.source_id IN (SELECT source_id FROM ind_complements)
) AS b
    ON b.source_id = c.source_id AND b.cog_annee = c.cog_annee AND b.indicateur = c.indicateur
   AND b.annee = c.annee AND b.code_reference = p.code_reference
ANTI JOIN ind_brut AS x
    ON x.source_id = c.source_id AND x.cog_annee = c.cog_annee AND x.code_commune_source = c.code
   AND x.indicateur = c.indicateur AND x.annee = c.annee;
