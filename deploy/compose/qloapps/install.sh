#!/usr/bin/env bash
# First start: copy QloApps into the volume and run its command-line installer against the
# database; later starts go straight to Apache. The webservice key Agente uses is created in
# the back office afterwards (docs/deploy.md, "QloApps in the stack").
set -euo pipefail
cd /var/www/html
if [ ! -f config/settings.inc.php ]; then
  cp -a /usr/src/qloapps/. /var/www/html/
  chown -R www-data:www-data /var/www/html
  su -s /bin/bash www-data -c "php install/index_cli.php \
    --domain='${QLOAPPS_DOMAIN}' --db_server='${QLOAPPS_DB_SERVER}' \
    --db_name='${QLOAPPS_DB_NAME}' --db_user='${QLOAPPS_DB_USER}' \
    --db_password='${QLOAPPS_DB_PASSWORD}' --email='${QLOAPPS_ADMIN_EMAIL}' \
    --password='${QLOAPPS_ADMIN_PASSWORD}' --language=es --country=ar --newsletter=0"
  rm -rf install
fi
exec "$@"
