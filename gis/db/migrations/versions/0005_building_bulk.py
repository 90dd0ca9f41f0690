"""Buildings, cheaper to bulk-load: no GiST index on ``point``; the range CHECK on the bbox.

* Every query that used ``building_point_gist`` now filters on ``geom`` first (a building's
  point lies inside its geometry, so ``point && box`` implies ``geom && box``), which the
  geometry's GiST index serves. One spatial index fewer to build or maintain per load.
* ``building_geom_range`` tests the geometry's stored bounding box against the world
  (``geom @ envelope``) instead of computing ST_XMin / ST_XMax / ST_YMin / ST_YMax: the same
  answer (the stored box is rounded outwards to float4 and ±180 / ±90 are exact in float4, so
  any coordinate past a limit gives a box past it, and none inside does), at a quarter of the
  cost per row. Empty geometries stay the validity CHECK's business.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop building_point_gist; the range CHECK on the bounding box."""
    op.execute("""
        DROP INDEX IF EXISTS building_point_gist;
        ALTER TABLE building DROP CONSTRAINT building_geom_range;
        ALTER TABLE building ADD CONSTRAINT building_geom_range
            CHECK (ST_IsEmpty(geom) OR geom @ ST_MakeEnvelope(-180, -90, 180, 90, 4326));
    """)


def downgrade() -> None:
    """Create building_point_gist again; the range CHECK on the coordinates."""
    op.execute("""
        ALTER TABLE building DROP CONSTRAINT building_geom_range;
        ALTER TABLE building ADD CONSTRAINT building_geom_range
            CHECK (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180
                   AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90);
        CREATE INDEX IF NOT EXISTS building_point_gist ON building USING gist (point);
    """)
