"""Proposals, versions, co-sponsors, need-service links, comments, reports and full-text search

Revision ID: 3b0cf4bb02b3
Revises: a219bc8a4d9b
Create Date: 2026-11-23 04:34:01.784939
"""

from alembic import op
import sqlalchemy as sa
import app.core.db

revision = '3b0cf4bb02b3'
down_revision = 'a219bc8a4d9b'
branch_labels = None
depends_on = None


# Full-text search lives outside the models: a French tsvector on PostgreSQL, FTS5 on SQLite.
# French stemming on words stripped of their accents, so that "numerique" finds "numérique".
# The unaccent extension goes to the public schema: it is shared by the whole database.
POSTGRESQL_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public",
    "CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = pg_catalog.french)",
    """ALTER TEXT SEARCH CONFIGURATION french_unaccent
           ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, french_stem""",
    """ALTER TABLE proposals ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('french_unaccent'::regconfig, coalesce(title, '')), 'A')
           || setweight(to_tsvector('french_unaccent'::regconfig, coalesce(summary, '')), 'B')
           || setweight(to_tsvector('french_unaccent'::regconfig, coalesce(body, '')), 'C')) STORED""",
    "CREATE INDEX ix_proposals_search_vector ON proposals USING gin (search_vector)",
]
SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE proposals_fts USING fts5(title, summary, body, content='proposals',
           content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER proposals_fts_insert AFTER INSERT ON proposals BEGIN
           INSERT INTO proposals_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
       END""",
    """CREATE TRIGGER proposals_fts_delete AFTER DELETE ON proposals BEGIN
           INSERT INTO proposals_fts(proposals_fts, rowid, title, summary, body)
           VALUES ('delete', old.id, old.title, old.summary, old.body);
       END""",
    """CREATE TRIGGER proposals_fts_update AFTER UPDATE OF title, summary, body ON proposals BEGIN
           INSERT INTO proposals_fts(proposals_fts, rowid, title, summary, body)
           VALUES ('delete', old.id, old.title, old.summary, old.body);
           INSERT INTO proposals_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
       END""",
]


def upgrade() -> None:
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('published_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('affected', sa.Text(), nullable=True),
    sa.Column('workaround', sa.Text(), nullable=True),
    sa.Column('maturity', sa.String(length=12), nullable=True),
    sa.Column('licence', sa.String(length=80), nullable=True),
    sa.Column('repository_url', sa.String(length=300), nullable=True),
    sa.Column('carrier', sa.String(length=12), nullable=True),
    sa.Column('deployments', sa.Integer(), nullable=True),
    sa.Column('requested_budget_cents', sa.BigInteger(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('answer_state', sa.String(length=14), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answered_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('granted_amount_cents', sa.BigInteger(), nullable=True),
    sa.Column('support_count', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('hidden_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_author_id_users')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_proposals_consultation_id_consultations')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['proposals.id'], name=op.f('fk_proposals_merged_into_id_proposals')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_proposals_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_listing', ['consultation_id', 'state', 'hidden_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_organization_id'), ['organization_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('reporter_id', 'subject_type', 'subject_id', name=op.f('uq_reports_reporter_id_subject_type_subject_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('edited_at', app.core.db.UTCDateTime(), nullable=True),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('hidden_at', app.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_comments_author_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_comments_organization_id_organizations')),
    sa.ForeignKeyConstraint(['parent_id'], ['comments.id'], name=op.f('fk_comments_parent_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_comments_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_comments_proposal', ['proposal_id', 'created_at'], unique=False)

    op.create_table('need_service_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_need_service_links_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_need_service_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['need_id'], ['proposals.id'], name=op.f('fk_need_service_links_need_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['proposals.id'], name=op.f('fk_need_service_links_service_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_service_links')),
    sa.UniqueConstraint('need_id', 'service_id', name=op.f('uq_need_service_links_need_id_service_id'))
    )
    with op.batch_alter_table('need_service_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_service_links_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_service_links_service_id'), ['service_id'], unique=False)

    op.create_table('proposal_cosponsors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_proposal_cosponsors_added_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_proposal_cosponsors_organization_id_organizations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_cosponsors_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_cosponsors')),
    sa.UniqueConstraint('proposal_id', 'organization_id', name=op.f('uq_proposal_cosponsors_proposal_id_organization_id'))
    )
    op.create_table('proposal_territory_tags',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_territory_tags_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', 'tag', name=op.f('pk_proposal_territory_tags'))
    )
    with op.batch_alter_table('proposal_territory_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_territory_tags_tag'), ['tag'], unique=False)

    op.create_table('proposal_themes',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_themes_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_proposal_themes_theme_id_themes')),
    sa.PrimaryKeyConstraint('proposal_id', 'theme_id', name=op.f('pk_proposal_themes'))
    )
    with op.batch_alter_table('proposal_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_themes_theme_id'), ['theme_id'], unique=False)

    op.create_table('proposal_vectors',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('engine', sa.String(length=40), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_vectors_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', name=op.f('pk_proposal_vectors'))
    )
    op.create_table('proposal_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('changed_fields', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposal_versions_author_id_users')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_versions_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_versions')),
    sa.UniqueConstraint('proposal_id', 'number', name=op.f('uq_proposal_versions_proposal_id_number'))
    )

    statements = POSTGRESQL_SEARCH if op.get_bind().dialect.name == "postgresql" else SQLITE_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_proposals_search_vector")
        op.execute("ALTER TABLE proposals DROP COLUMN search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION french_unaccent")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER proposals_fts_{trigger}")
        op.execute("DROP TABLE proposals_fts")
    op.drop_table('proposal_versions')
    op.drop_table('proposal_vectors')
    with op.batch_alter_table('proposal_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_themes_theme_id'))

    op.drop_table('proposal_themes')
    with op.batch_alter_table('proposal_territory_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_territory_tags_tag'))

    op.drop_table('proposal_territory_tags')
    op.drop_table('proposal_cosponsors')
    with op.batch_alter_table('need_service_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_service_links_service_id'))
        batch_op.drop_index(batch_op.f('ix_need_service_links_need_id'))

    op.drop_table('need_service_links')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_proposal')
        batch_op.drop_index(batch_op.f('ix_comments_author_id'))

    op.drop_table('comments')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_subject')

    op.drop_table('reports')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_organization_id'))
        batch_op.drop_index('ix_proposals_listing')

    op.drop_table('proposals')
