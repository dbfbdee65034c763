"""communes, EPCI, départements and régions; a person's commune, EPCI and département codes

Reference tables from INSEE's official geographic code (Etalab's decoupage-administratif),
filled by `flask territories load`. People keep the codes they chose without a foreign key:
a refresh of the tables never touches a registration. Existing people get empty codes.

Revision ID: 7d41c0a2e9b3
Revises: 3c7e5a91d2b4
Create Date: 2026-12-01 14:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d41c0a2e9b3"
down_revision = "3c7e5a91d2b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "territory_region",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territory_region")),
    )
    op.create_table(
        "territory_departement",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territory_departement")),
    )
    op.create_table(
        "territory_epci",
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("search_key", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("siren", name=op.f("pk_territory_epci")),
    )
    op.create_index("ix_territory_epci_search_key", "territory_epci", ["search_key"])
    op.create_table(
        "territory_commune",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("epci_siren", sa.String(length=9), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("search_key", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_territory_commune")),
    )
    op.create_index("ix_territory_commune_search_key", "territory_commune", ["search_key"])
    op.create_index(op.f("ix_territory_commune_epci_siren"), "territory_commune", ["epci_siren"])
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("commune_code", sa.String(length=5), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("epci_siren", sa.String(length=9), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("department_code", sa.String(length=3), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("department_code")
        batch_op.drop_column("epci_siren")
        batch_op.drop_column("commune_code")
    op.drop_index(op.f("ix_territory_commune_epci_siren"), table_name="territory_commune")
    op.drop_index("ix_territory_commune_search_key", table_name="territory_commune")
    op.drop_table("territory_commune")
    op.drop_index("ix_territory_epci_search_key", table_name="territory_epci")
    op.drop_table("territory_epci")
    op.drop_table("territory_departement")
    op.drop_table("territory_region")
