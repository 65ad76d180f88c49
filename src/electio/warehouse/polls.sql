-- Electio warehouse: national vote-intention polls (built by the ETL with schema.sql; see docs/polls.md).

CREATE TABLE dim_sondage (
    sondage_id        VARCHAR PRIMARY KEY,
    scrutin_cible     VARCHAR NOT NULL,
    tour              INTEGER NOT NULL,
    niveau            VARCHAR NOT NULL,
    institut          VARCHAR,
    commanditaire     VARCHAR,
    date_debut        DATE,
    date_fin          DATE,
    date_publication  DATE,
    echantillon       INTEGER,
    population        VARCHAR,
    methode           VARCHAR,
    hypothese_id      VARCHAR,
    candidats         VARCHAR NOT NULL,
    nb_options        INTEGER NOT NULL,
    somme_intentions  FLOAT8 NOT NULL,
    complet           BOOLEAN NOT NULL,
    vague_glissante   BOOLEAN NOT NULL,
    compilateur       VARCHAR NOT NULL,
    compilateurs      VARCHAR NOT NULL,
    source_id         VARCHAR NOT NULL,
    id_source         VARCHAR NOT NULL,
    ligne_source      INTEGER
);
COMMENT ON TABLE dim_sondage IS 'Un scénario de sondage d''intentions de vote national (institut × terrain × tour × hypothèse de candidatures), après exclusions, dédoublonnage entre compilateurs et sélection des vagues glissantes.';
COMMENT ON COLUMN dim_sondage.sondage_id IS 'Identifiant stable : scrutin cible, institut, fin de terrain (AAAAMMJJ) et empreinte du scénario (liste des options, population, hypothèse) ; suffixe _2, _3 si plusieurs scénarios identiques.';
COMMENT ON COLUMN dim_sondage.scrutin_cible IS 'Scrutin visé, au format de dim_scrutin (pres2027_t1, pres2022_t2, euro2024_t1, leg2024_t1…) ; peut viser un scrutin absent de dim_scrutin (scrutin futur ou ancien).';
COMMENT ON COLUMN dim_sondage.tour IS 'Tour visé (1 ou 2).';
COMMENT ON COLUMN dim_sondage.niveau IS 'candidat (options = candidats ou listes) ou bloc (options = blocs politiques agrégés par le compilateur).';
COMMENT ON COLUMN dim_sondage.institut IS 'Institut de sondage, nom normalisé par referentials/sondages_instituts.csv ; NULL si le compilateur ne le donne pas (oost, harvilehal).';
COMMENT ON COLUMN dim_sondage.commanditaire IS 'Commanditaire(s) ou médias, tels que publiés.';
COMMENT ON COLUMN dim_sondage.date_debut IS 'Début du terrain (NULL si inconnu).';
COMMENT ON COLUMN dim_sondage.date_fin IS 'Fin du terrain (ou date unique donnée par le compilateur).';
COMMENT ON COLUMN dim_sondage.date_publication IS 'Date de publication si connue (aucun compilateur actuel ne la donne : NULL) ; à défaut, utiliser date_fin comme borne inférieure.';
COMMENT ON COLUMN dim_sondage.echantillon IS 'Taille de l''échantillon interrogé (ou exprimant une intention selon le compilateur).';
COMMENT ON COLUMN dim_sondage.population IS 'Population ou base de calcul (inscrits, certains d''aller voter…), telle que publiée.';
COMMENT ON COLUMN dim_sondage.methode IS 'Méthode de recueil (internet, téléphone…) si connue.';
COMMENT ON COLUMN dim_sondage.hypothese_id IS 'Hypothèse du compilateur (MieuxVoter : H1… H2_x ; NSPPolls : libellé) ; les libellés ne sont pas uniques entre instituts : identifier un scénario par candidats.';
COMMENT ON COLUMN dim_sondage.candidats IS 'Liste triée des clés d''options du scénario (clés du référentiel des blocs), séparées par « ; ».';
COMMENT ON COLUMN dim_sondage.nb_options IS 'Nombre d''options (candidats, listes ou blocs) publiées.';
COMMENT ON COLUMN dim_sondage.somme_intentions IS 'Somme des intentions publiées, en %.';
COMMENT ON COLUMN dim_sondage.complet IS 'Vrai si la somme vaut 100 ± 3 % ; faux si le compilateur ne publie que les principales options (ex. européennes 2024 : 8 listes).';
COMMENT ON COLUMN dim_sondage.vague_glissante IS 'Vrai pour une vague d''enquête glissante (rolling) ; une seule vague par fenêtre de terrain disjointe est gardée.';
COMMENT ON COLUMN dim_sondage.compilateur IS 'Compilateur dont la copie est gardée (le plus prioritaire, referentials/sondages_compilateurs.csv).';
COMMENT ON COLUMN dim_sondage.compilateurs IS 'Tous les compilateurs où ce sondage figure, séparés par « , » (copie gardée en premier).';
COMMENT ON COLUMN dim_sondage.source_id IS 'Source du catalogue de la copie gardée.';
COMMENT ON COLUMN dim_sondage.id_source IS 'Identifiant du sondage chez le compilateur (ou date_ligne pour les tableaux sans identifiant).';
COMMENT ON COLUMN dim_sondage.ligne_source IS 'Ligne du fichier source (première ligne du scénario ; NULL pour le JSON).';

CREATE TABLE fact_intention_vote (
    sondage_id  VARCHAR NOT NULL REFERENCES dim_sondage (sondage_id),
    option      VARCHAR NOT NULL,
    cle         VARCHAR NOT NULL,
    code_bloc   VARCHAR NOT NULL REFERENCES dim_bloc (code_bloc),
    intention   FLOAT8,
    borne_inf   FLOAT8,
    borne_sup   FLOAT8,
    PRIMARY KEY (sondage_id, option)
);
COMMENT ON TABLE fact_intention_vote IS 'Intention de vote d''une option (candidat, liste ou bloc) dans un scénario de sondage, telle que publiée.';
COMMENT ON COLUMN fact_intention_vote.sondage_id IS 'Scénario de sondage.';
COMMENT ON COLUMN fact_intention_vote.option IS 'Candidat, liste ou bloc tel que publié par le compilateur.';
COMMENT ON COLUMN fact_intention_vote.cle IS 'Clé commune à tous les compilateurs (nom de famille en majuscules, liste ou bloc ; referentials/sondages_alias.csv).';
COMMENT ON COLUMN fact_intention_vote.code_bloc IS 'Bloc politique (referentials/blocs_affectation.csv pour le scrutin cible, ou alias direct pour les sources par bloc).';
COMMENT ON COLUMN fact_intention_vote.intention IS 'Intention de vote en % des exprimés (parts en fractions converties).';
COMMENT ON COLUMN fact_intention_vote.borne_inf IS 'Borne basse de l''intervalle d''erreur publié, en % (MieuxVoter : part + delta ; NSPPolls : borne publiée) ; NULL si non publiée.';
COMMENT ON COLUMN fact_intention_vote.borne_sup IS 'Borne haute de l''intervalle d''erreur publié, en % ; NULL si non publiée.';

CREATE TABLE resultat_bloc_sondage (
    scrutin_cible  VARCHAR NOT NULL,
    option         VARCHAR NOT NULL,
    code_bloc      VARCHAR NOT NULL REFERENCES dim_bloc (code_bloc),
    part           FLOAT8,
    date_scrutin   DATE,
    source_id      VARCHAR NOT NULL,
    ligne_source   INTEGER
);
COMMENT ON TABLE resultat_bloc_sondage IS 'Résultats officiels nationaux par bloc publiés dans le tableau des sondages par bloc (pollsposition tour1_complet_unitedfl.csv) : des résultats, pas des sondages, gardés à part.';
COMMENT ON COLUMN resultat_bloc_sondage.scrutin_cible IS 'Scrutin (pres2017_t1, euro2019_t1…).';
COMMENT ON COLUMN resultat_bloc_sondage.option IS 'Bloc du compilateur (nbfarleft, nbleft…).';
COMMENT ON COLUMN resultat_bloc_sondage.code_bloc IS 'Bloc du projet (alias de referentials/sondages_alias.csv).';
COMMENT ON COLUMN resultat_bloc_sondage.part IS 'Part des exprimés en %.';
COMMENT ON COLUMN resultat_bloc_sondage.date_scrutin IS 'Date du scrutin.';
COMMENT ON COLUMN resultat_bloc_sondage.source_id IS 'Source du catalogue.';
COMMENT ON COLUMN resultat_bloc_sondage.ligne_source IS 'Ligne du fichier source.';

CREATE TABLE couverture_sondage (
    scrutin_cible                     VARCHAR NOT NULL,
    niveau                            VARCHAR NOT NULL,
    nb_scenarios                      INTEGER NOT NULL,
    nb_enquetes                       INTEGER NOT NULL,
    nb_hypotheses                     INTEGER NOT NULL,
    nb_incomplets                     INTEGER NOT NULL,
    date_terrain_min                  DATE,
    date_terrain_max                  DATE,
    instituts                         VARCHAR NOT NULL,
    compilateurs                      VARCHAR NOT NULL,
    nb_scenarios_avant_dedoublonnage  INTEGER NOT NULL,
    nb_enquetes_avant_dedoublonnage   INTEGER NOT NULL,
    PRIMARY KEY (scrutin_cible, niveau)
);
COMMENT ON TABLE couverture_sondage IS 'Couverture des sondages par scrutin cible et niveau (candidat ou bloc), après et avant dédoublonnage.';
COMMENT ON COLUMN couverture_sondage.scrutin_cible IS 'Scrutin visé.';
COMMENT ON COLUMN couverture_sondage.niveau IS 'candidat ou bloc.';
COMMENT ON COLUMN couverture_sondage.nb_scenarios IS 'Scénarios gardés (lignes de dim_sondage).';
COMMENT ON COLUMN couverture_sondage.nb_enquetes IS 'Enquêtes distinctes gardées (institut × fin de terrain ; un scénario par enquête si l''institut est inconnu).';
COMMENT ON COLUMN couverture_sondage.nb_hypotheses IS 'Hypothèses de candidatures distinctes (listes d''options distinctes).';
COMMENT ON COLUMN couverture_sondage.nb_incomplets IS 'Scénarios dont la somme s''écarte de 100 de plus de 3 points.';
COMMENT ON COLUMN couverture_sondage.date_terrain_min IS 'Premier jour de terrain.';
COMMENT ON COLUMN couverture_sondage.date_terrain_max IS 'Dernière fin de terrain.';
COMMENT ON COLUMN couverture_sondage.instituts IS 'Instituts (noms normalisés), séparés par « , ».';
COMMENT ON COLUMN couverture_sondage.compilateurs IS 'Compilateurs des copies gardées.';
COMMENT ON COLUMN couverture_sondage.nb_scenarios_avant_dedoublonnage IS 'Scénarios lus après exclusions, avant dédoublonnage et sélection des vagues glissantes.';
COMMENT ON COLUMN couverture_sondage.nb_enquetes_avant_dedoublonnage IS 'Enquêtes avant dédoublonnage (chaque compilateur compté).';
