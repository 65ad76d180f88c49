"""Commune polygons: read the IGN 2018 GeoJSON of each département and dissolve them onto COG 2026.

The polygons carry COG 2018 codes (``code``, ``nom``). Each is mapped to its reference commune
with the warehouse table ``map_commune_cog`` (code_source → code_reference); communes merged
since 2018 become the union of their former polygons. :func:`coverage` then checks that every
commune of ``dim_commune`` has a shape.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from electio.catalogue import Source, get_source
from electio.fetch import fetch

CENTRES_SOURCE = "communes_attributes__datas_fun_communes"
SOURCE_CRS = "EPSG:4326"
PLOT_CRS = "EPSG:2154"  # Lambert-93, the French metropolitan projection (areas in m²)


def polygon_source(departement: str) -> Source:
    """Catalogue entry of the commune polygons of one département (``communes_polygons_<dep>``)."""
    return get_source(f"communes_polygons_{departement.lower()}")


def read_polygons(path: Path) -> gpd.GeoDataFrame:
    """Polygons of a (gzipped) GeoJSON file: columns ``code``, ``nom``, ``geometry`` (WGS84)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    frame = gpd.GeoDataFrame.from_features(features, crs=SOURCE_CRS)
    return frame[["code", "nom", "geometry"]]


def load_polygons(departements: list[str]) -> tuple[gpd.GeoDataFrame, list[Source]]:
    """Source polygons of several départements (verified files), and the sources read."""
    sources = [polygon_source(d) for d in departements]
    frames = [read_polygons(fetch(s).path) for s in sources]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=SOURCE_CRS), sources


def dissolve_to_reference(polygons: gpd.GeoDataFrame, mapping: pd.DataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Union of the source polygons of each reference commune, and the source codes left unmapped.

    ``mapping`` has ``code_source, code_reference``; a code absent from it is kept unchanged
    only if it is itself a reference code, otherwise it is reported as unmapped.
    """
    lookup = dict(zip(mapping["code_source"], mapping["code_reference"], strict=True))
    references = set(mapping["code_reference"])
    target = polygons["code"].map(lambda c: lookup.get(c, c if c in references else None))
    unmapped = sorted(polygons.loc[target.isna(), "code"])
    keyed = polygons.assign(code_commune=target).dropna(subset=["code_commune"])
    dissolved = keyed[["code_commune", "geometry"]].dissolve(by="code_commune", as_index=False)
    return dissolved, unmapped


@dataclass(frozen=True)
class Coverage:
    """Communes of the territory with and without a polygon."""

    expected: int
    covered: int
    missing: tuple[str, ...]
    unmapped_sources: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        """One French sentence for the console and the captions."""
        text = f"contours : {self.covered}/{self.expected} communes couvertes"
        if self.missing:
            text += f" ; sans contour : {', '.join(self.missing)}"
        if self.unmapped_sources:
            text += f" ; polygones sans commune de référence : {', '.join(self.unmapped_sources)}"
        return text


def coverage(communes: pd.DataFrame, shapes: gpd.GeoDataFrame, unmapped: list[str] | None = None) -> Coverage:
    """Compare the communes (``code_commune``) with the dissolved shapes."""
    expected = set(communes["code_commune"])
    present = set(shapes.loc[~shapes.geometry.is_empty & shapes.geometry.notna(), "code_commune"])
    return Coverage(
        expected=len(expected),
        covered=len(expected & present),
        missing=tuple(sorted(expected - present)),
        unmapped_sources=tuple(unmapped or ()),
        extra=tuple(sorted(present - expected)),
    )


def arrondissement_centres(codes: list[str]) -> tuple[pd.DataFrame, Source]:
    """IGN centre (lon, lat) of each arrondissement municipal of ``codes`` (COG 2024 attributes file)."""
    source = get_source(CENTRES_SOURCE)
    table = pd.read_csv(fetch(source).path, dtype={"insee_com": str}, usecols=["insee_com", "commune_type", "lat", "lng"])
    table = table[(table["commune_type"] == "ARM") & table["insee_com"].isin(codes)]
    return table.rename(columns={"insee_com": "code_commune"})[["code_commune", "lng", "lat"]], source


def arrondissement_shapes(codes: list[str], dissolved: gpd.GeoDataFrame, mapping: pd.DataFrame) -> tuple[gpd.GeoDataFrame, list[Source]]:
    """APPROXIMATE shapes of arrondissements municipaux (the mirror has no arrondissement boundaries):
    the Voronoi cells of their IGN centres, clipped to the parent commune's polygon. Good enough to
    place and colour each arrondissement on a map; not their legal boundaries."""
    parents = mapping[mapping["code_source"].isin(codes)].set_index("code_source")["code_reference"]
    if parents.empty:
        return gpd.GeoDataFrame({"code_commune": [], "geometry": []}, geometry="geometry", crs=SOURCE_CRS), []
    centres, source = arrondissement_centres(list(parents.index))
    points = gpd.GeoDataFrame(centres, geometry=gpd.points_from_xy(centres["lng"], centres["lat"]), crs=SOURCE_CRS).to_crs(PLOT_CRS)
    outlines = dissolved.set_index("code_commune").geometry.to_crs(PLOT_CRS)
    rows = []
    for parent, group in points.groupby(points["code_commune"].map(parents)):
        if parent not in outlines.index:
            continue
        outline = outlines.loc[parent]
        cells = shapely.voronoi_polygons(shapely.MultiPoint(list(group.geometry)), extend_to=outline)
        for cell in shapely.get_parts(cells):
            owner = group[group.geometry.within(cell)]
            if len(owner):
                rows.append({"code_commune": owner["code_commune"].iloc[0], "geometry": cell.intersection(outline)})
    shapes = gpd.GeoDataFrame(rows, geometry="geometry", crs=PLOT_CRS).to_crs(SOURCE_CRS) if rows else \
        gpd.GeoDataFrame({"code_commune": [], "geometry": []}, geometry="geometry", crs=SOURCE_CRS)
    return shapes, [source]


def commune_shapes(communes: pd.DataFrame, mapping: pd.DataFrame) -> tuple[gpd.GeoDataFrame, Coverage, list[Source]]:
    """Shapes of every unit of ``communes`` (one row each, geometry None when missing), in Lambert-93.

    ``communes`` needs ``code_commune, nom_commune, code_departement``; polygons outside it are dropped.
    An arrondissement municipal (a unit of analysis below the commune) gets an approximate shape
    (:func:`arrondissement_shapes`).
    """
    departements = sorted(communes["code_departement"].unique())
    polygons, sources = load_polygons(departements)
    dissolved, unmapped = dissolve_to_reference(polygons, mapping)
    below = sorted(set(communes["code_commune"]) - set(dissolved["code_commune"]))
    if below:
        extra, more = arrondissement_shapes(below, dissolved, mapping)
        dissolved, sources = pd.concat([dissolved, extra], ignore_index=True), [*sources, *more]
    found = coverage(communes, dissolved, unmapped)
    kept = ["code_commune", "nom_commune", *(["population"] if "population" in communes else [])]  # population: map labels
    shapes = communes[kept].merge(dissolved, on="code_commune", how="left")
    shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=SOURCE_CRS).to_crs(PLOT_CRS)
    return shapes, found, sources


def area_km2(shapes: gpd.GeoDataFrame) -> pd.Series:
    """Area of each shape in km² (Lambert-93), indexed by ``code_commune``."""
    return pd.Series(shapes.to_crs(PLOT_CRS).area.to_numpy() / 1e6, index=shapes["code_commune"])
